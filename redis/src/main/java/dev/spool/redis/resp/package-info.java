/**
 * The Redis wire protocol: an incremental request parser ({@link dev.spool.redis.resp.RespParser}),
 * the replies a command can send ({@link dev.spool.redis.resp.Reply}) and their RESP2 and RESP3
 * encodings ({@link dev.spool.redis.resp.RespEncoder}). Plain classes with no actor or socket code,
 * so the connection that drives them stays thin.
 *
 * @since 0.1.0
 */
package dev.spool.redis.resp;
