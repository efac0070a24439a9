/* ctl: reportctl's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code. */
#ifndef REPORTD_CTL_H
#define REPORTD_CTL_H

/* The options, summaries and exit codes of each are in commands.c's table. */

/* check FILE…: read, check and print findings. */
int ctl_check(int argc, char **argv);
/* convert FILE --to yaml|pb [-o OUT]: write the report in another form. */
int ctl_convert(int argc, char **argv);

/* submit FILE…: durable submission through titanic.request, waits for the
 * Results (ctl_submit.c). */
int ctl_submit(int argc, char **argv);
/* watch [PREFIX…]: print published results/alerts, filling gaps by replay (ctl_watch.c). */
int ctl_watch(int argc, char **argv);
/* deadletter list | show UUID | retry UUID (ctl_net.c). */
int ctl_deadletter(int argc, char **argv);
/* keygen DIR/NAME: write a CURVE key pair (ctl_keygen.c). */
int ctl_keygen(int argc, char **argv);
/* help [COMMAND]: the overview, or one command's help (ctl_main.c). */
int ctl_help_command(int argc, char **argv);

#endif
