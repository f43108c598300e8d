// node:http's response with slots for what the worker keeps about the request it answers and its connection.
// A property added to each response after node:http made it (a symbol key, as before) gave the
// responses two hidden classes, so node:http's own code met both at every property it reads;
// a field declared here makes every response of one shape from the start.
import { ServerResponse, type IncomingMessage } from 'node:http';

export class SlottedResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  /** The worker's record of the request while the app has it (own-http.ts); undefined until it starts. */
  slot: unknown = undefined;
  /** Its connection's record (connection-flow.ts): read here, not from a symbol-keyed property of the socket, whose shapes vary. */
  flow: unknown = undefined;
}
