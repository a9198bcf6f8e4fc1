# Endpoint: how calls on server-implemented capabilities reach their server.
@0x9c58070b42ead5ac;

struct IncomingCall {
  # One call waiting at an endpoint, as its server receives it.
  callId @0 :UInt64;        # kernel token naming this call in reply()
  badge @1 :UInt64;         # badge of the client capability the call came through
  interfaceId @2 :UInt64;   # interface id the caller named (half the ring address)
  method @3 :UInt16;        # method ordinal the caller named (the other half)
  params @4 :Data;          # the params message, in stream framing
  capCount @5 :UInt32;      # capabilities transferred with it, now in the server's slots
  firstCapSlot @6 :UInt32;  # slot of the first of them; the params' cap table counts from here
}

interface Endpoint {
  # A server's receiving side. Clients hold badged Endpoint capabilities
  # minted from it and call them with any interface id: the kernel queues
  # the call here instead of handling it, so a server can stand in for a
  # kernel object.

  receive @0 (timeoutNs :UInt64) -> (call :IncomingCall, timedOut :Bool);
  # Takes the next call, blocking until one arrives or `timeoutNs` passes
  # (0 = forever). On timeout `timedOut` is true and `call` is null.

  reply @1 (callId :UInt64, status :Int32, results :Data, caps :List(UInt32)) -> ();
  # Completes call `callId` with `status` (0 = success, else an ABI error
  # code) and the `results` message (stream framing), transferring the
  # server's slots `caps` as the results' capability table.

  mint @2 (badge :UInt64) -> (client :Endpoint);
  # A new client capability whose calls arrive here carrying `badge`.
}
