/* ctl: reportctl's subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand) and returns the process exit code. */
#ifndef REPORTD_CTL_H
#define REPORTD_CTL_H

/* check FILE…: read, check and print findings. 0 no error, 1 an error, 2 unreadable. */
int ctl_check(int argc, char **argv);
/* convert FILE --to yaml|pb [-o OUT]: write the report in another form. */
int ctl_convert(int argc, char **argv);

/* submit FILE…: durable submission through titanic.request, waits for the Results
 * (ctl_submit.c). 0 every one has its Result, 65 some were dead-lettered or
 * refused, 66 a file is unreadable, 69 broker unreachable, 75 timed out. */
int ctl_submit(int argc, char **argv);
/* watch [PREFIX…]: print published results/alerts, filling gaps by replay (ctl_watch.c). */
int ctl_watch(int argc, char **argv);
/* deadletter list | show UUID | retry UUID (ctl_net.c). */
int ctl_deadletter(int argc, char **argv);
/* keygen DIR/NAME: write a CURVE key pair (ctl_keygen.c). 0, 64 usage, 73 cannot create. */
int ctl_keygen(int argc, char **argv);

#endif
