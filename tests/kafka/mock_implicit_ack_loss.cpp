/*
 * Why the Kafka publisher keeps one produce request in flight (kafka/producer.cpp): with
 * librdkafka 2.0.2's mock cluster and an idempotent producer, a message can be reported
 * DELIVERED (delivery report err == NO_ERROR) and yet be missing from the partition's log.
 *
 * Run:    mock_implicit_ack_loss        (CTest kafka.mock_implicit_ack_loss)
 *         mock_implicit_ack_loss -d     (also print librdkafka's IMPLICITACK/MSGSET debug)
 * Exit status 0 when the behaviour the publisher guards against is as described: pipelined
 * requests (max.in.flight=5) lose an acknowledged message after an injected error, one request
 * in flight loses none. Non-zero if either stops being true (a fixed mock, say).
 *
 * Per scenario, a fresh 1-broker mock cluster, topic "t" with 1 partition, and a producer with
 * enable.idempotence=true, acks=all, linger.ms=0, batch.num.messages=1 (one request per message):
 *   1. produce m0 and flush (connection, PID, partition leader known);
 *   2. push ONE Produce error on broker 1 with a 300 ms response delay;
 *   3. produce m1 (request R1 -> gets the error; the mock does not append it), wait 100 ms
 *      so that R1 is on the wire, then produce m2, m3 (requests R2, R3 pipelined on the same
 *      connection; the mock appends them at once, no sequence check for a non-transactional
 *      producer) and flush;
 *   4. read the partition back from its low to its high watermark.
 * Expected on a real broker: R2 would get OUT_OF_ORDER_SEQUENCE_NUMBER (seq gap), m1 is resent.
 * On the 2.0.2 mock: R2 succeeds, librdkafka "implicitly acks" m1 (rd_kafka_dr_implicit_ack,
 * src/rdkafka_request.c:3274) -> m1 DELIVERED, yet missing from the log.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 4
static int dr_err[N];
static long long dr_off[N];
static int dr_seen[N];
static int debug;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        int i = (int)(intptr_t)m->_private;
        (void)rk; (void)opaque;
        dr_seen[i] = 1;
        dr_err[i]  = m->err;
        dr_off[i]  = m->offset;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
        (void)rk; (void)level;
        if (debug && (!strcmp(fac, "IMPLICITACK") || !strcmp(fac, "MSGSET")))
                fprintf(stderr, "    [%s] %s\n", fac, buf);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstraps, const char **kv) {
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, NULL, 0);
        for (; kv && kv[0]; kv += 2)
                if (rd_kafka_conf_set(conf, kv[0], kv[1], errstr, sizeof errstr)) {
                        fprintf(stderr, "%s\n", errstr);
                        exit(2);
                }
        if (type == RD_KAFKA_PRODUCER) {
                rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
                rd_kafka_conf_set_log_cb(conf, log_cb);
        }
        rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
        if (!rk) {
                fprintf(stderr, "%s\n", errstr);
                exit(2);
        }
        return rk;
}

static void produce(rd_kafka_t *rk, int i) {
        char v[8];
        snprintf(v, sizeof v, "m%d", i);
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE(v, strlen(v)),
                              RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END))
                exit(2);
}

/* Returns the number of messages delivered without error but absent from the log. */
static int scenario(rd_kafka_resp_err_t injected, int max_in_flight) {
        char errstr[512];
        int i, lost = 0, in_log[N] = {0};
        memset(dr_seen, 0, sizeof dr_seen);

        rd_kafka_conf_t *hconf = rd_kafka_conf_new();
        rd_kafka_conf_set(hconf, "log_level", "3", NULL, 0);
        rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, hconf, errstr, sizeof errstr);
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(host, 1);
        rd_kafka_mock_topic_create(mc, "t", 1, 1);
        const char *bs = rd_kafka_mock_cluster_bootstraps(mc);

        char mif[8];
        snprintf(mif, sizeof mif, "%d", max_in_flight);
        const char *pconf[] = {"enable.idempotence", "true", "acks", "all",
                               "message.timeout.ms", "0", "linger.ms", "0",
                               "batch.num.messages", "1", "max.in.flight", mif,
                               debug ? "debug" : NULL, "msg,eos", NULL};
        rd_kafka_t *p = client(RD_KAFKA_PRODUCER, bs, pconf);

        produce(p, 0);
        rd_kafka_flush(p, 10000);
        rd_kafka_mock_broker_push_request_error_rtts(mc, 1, 0 /* Produce */, 1, injected, 300);
        produce(p, 1);
        rd_kafka_poll(p, 100); /* R1 is sent; its (error) response is held for 300 ms */
        produce(p, 2);
        produce(p, 3);
        if (rd_kafka_flush(p, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                fprintf(stderr, "flush timed out\n");
        rd_kafka_destroy(p);

        /* Read the partition back. */
        const char *cconf[] = {"group.id", "repro", "enable.auto.commit", "false", NULL};
        rd_kafka_t *c = client(RD_KAFKA_CONSUMER, bs, cconf);
        int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(c, "t", 0, &lo, &hi, 5000);
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, "t", 0)->offset = lo;
        rd_kafka_assign(c, l);
        rd_kafka_topic_partition_list_destroy(l);
        char got[128] = "";
        for (int64_t n = lo; n < hi;) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 5000);
                if (!m) break;
                if (!m->err) {
                        int k = ((const char *)m->payload)[1] - '0';
                        if (k >= 0 && k < N) in_log[k] = 1;
                        snprintf(got + strlen(got), sizeof got - strlen(got), " m%d@%lld", k,
                                 (long long)m->offset);
                        n = m->offset + 1;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);

        printf("%-34s max.in.flight=%d  log [%lld,%lld):%s\n", rd_kafka_err2name(injected),
               max_in_flight, (long long)lo, (long long)hi, got);
        for (i = 0; i < N; i++) {
                int ok = dr_seen[i] && dr_err[i] == 0;
                printf("    m%d: DR %-22s offset %-3lld in log: %s%s\n", i,
                       !dr_seen[i] ? "(none)" : rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(dr_err[i])), dr_off[i],
                       in_log[i] ? "yes" : "NO",
                       ok && !in_log[i] ? "   <-- ACKNOWLEDGED BUT LOST" : "");
                if (ok && !in_log[i]) lost++;
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(host);
        return lost;
}

int main(int argc, char** argv) {
        debug = argc > 1 && !strcmp(argv[1], "-d");
        printf("librdkafka %s\n", rd_kafka_version_str());
        static const rd_kafka_resp_err_t errs[] = {
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR__TRANSPORT,
        };
        int pipelined = 0;
        for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++)
                pipelined += scenario(errs[e], 5);
        printf("-- the publisher's setting: max.in.flight=1 (no pipelined request) --\n");
        int one = 0;
        for (size_t e = 0; e < sizeof errs / sizeof errs[0]; e++)
                one += scenario(errs[e], 1);
        printf("acknowledged but lost: %d with max.in.flight=5, %d with max.in.flight=1\n",
               pipelined, one);
        return pipelined > 0 && one == 0 ? 0 : 1;
}
