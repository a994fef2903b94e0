/**
 * The Redis Streams endpoint: a RESP2/RESP3 server whose streams are Spool queues and whose consumer
 * groups are Spool consumers, so Redis clients and tools work with Spool unchanged.
 *
 * @since 0.1.0
 */
package dev.spool.redis;
