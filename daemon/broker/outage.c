/* outage: what the broker does while its store's database is unreachable.
 * The store says up or down (spool_link: store_pg notices a broken
 * connection and makes one again in a thread with back-off); the broker
 * follows it here, once a loop round between commits:
 *  - down: one line with the error; titanic.* and reportd.* answer "500
 *    store unavailable" (titanic.reply "300": the job is as pending as
 *    anyone can tell); nothing of the batch the connection held is
 *    acknowledged (its commit fails); no Titanic job is handed out, plain
 *    requests are; a Result that comes back is not stored — its job stays
 *    pending in the database and runs again;
 *  - back: one line with the downtime; the Titanic jobs memory holds are
 *    dropped and the pending ones read again from the database, which is
 *    the truth (a commit that broke midway may have gone through). */
#include "broker/outage.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "conf/config.h"
#include "wire/mdp.h"
#include "broker/roster.h"
#include "broker/spool.h"
#include "broker/titanic.h"

int outage_follow(struct broker *b)
{
    if (b->committing)
        return b->store_down;
    struct spool_link l;
    spool_link(b->sp, &l);
    uint64_t seen = b->link.reconnects;
    b->link = l;
    if (!l.up && !b->store_down) {
        b->store_down = 1;
        log_msg(LOG_PRI_ERR, "store: the connection to the database broke: %s; nothing is "
                "acknowledged until it is back (reconnecting with back-off)", l.why);
    }
    if (l.up && l.reconnects != seen) {
        if (!b->store_down)     /* broke and came back between two looks */
            log_msg(LOG_PRI_ERR, "store: the connection to the database broke");
        b->store_down = 0;
        b->spool_failed = 0;    /* the commit that failed went with the old connection */
        log_msg(LOG_PRI_NOTICE, "store: the database is back after %lld ms (reconnection %llu)",
                (long long)(util_now_ms() - l.down_ms), (unsigned long long)l.reconnects);
        /* several brokers (spool_lead): the leader's lock went with the old
         * connection — the leadership is asked again at once (lead_timer:
         * spool_lead steps down, then leads again or stays standby; take_lead
         * reads the pending jobs); one broker: read them here */
        if (b->lead_epoch)
            b->lead_at = 0;
        else if (titanic_resync(b) != 0)
            log_msg(LOG_PRI_ERR, "store: cannot read the pending jobs again");
        roster_dispatch_all(b);
    }
    int64_t now = util_now_ms();
    if (!b->store_down && now >= b->size_at) {
        int64_t n = spool_size(b->sp);
        b->st.store_sized = n >= 0;
        b->st.store_bytes = n >= 0 ? n : 0;
        b->size_at = now + b->cfg->heartbeat_ms;
    }
    return b->store_down;
}

int outage_refuse(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p)
{
    if (!b->store_down || mdp_msg_size(m, p->service) < 4 ||
        memcmp(mdp_msg_data(m, p->service), "mmi.", 4) == 0)
        return 0;
    int reply = mdp_msg_is(m, p->service, "titanic.reply");
    if (mdp_msg_is(m, p->service, "titanic.request")) {
        b->st.received++;
        b->st.rejected++;
    }
    roster_answer_status(b, m, p, reply ? TITANIC_STORE_DOWN_REPLY : TITANIC_STORE_DOWN);
    return 1;
}

void outage_stats(const struct broker *b, struct broker_stats *st)
{
    st->store_down = b->store_down;
    st->store_reconnects = b->link.reconnects;
    st->store_down_ms = b->store_down ? b->link.down_ms : 0;
    snprintf(st->store_why, sizeof st->store_why, "%s", b->store_down ? b->link.why : "");
}
