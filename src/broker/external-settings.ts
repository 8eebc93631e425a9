/**
 * What an external broker must be told so that it keeps sensor messages while floxgate
 * is down or busy. In external mode the broker, not floxgate, acknowledges the sensors
 * (on receipt), so a message it drops from floxgate's queue is lost for good. Said in
 * the start log and by `floxgate check-config`; docs/broker.md has the details.
 */
export const EXTERNAL_BROKER_SETTINGS =
  'external broker mode: the broker acknowledges the sensors, so it must keep what floxgate has not taken yet. ' +
  "In mosquitto.conf set `persistence true` (floxgate's session and its queued messages survive a broker restart) " +
  'and `max_queued_messages 100000` or more (the stock 1000 drops messages for floxgate once it is down for a few seconds; Mosquitto logs "Outgoing messages are being dropped"); ' +
  'floxgate keeps its session for 7 days. See docs/broker.md'
