// @parley/client: the REST client (typed from the server's OpenAPI document) and the live
// event socket.
export { ParleyClient, ParleyError, randomId, tokenOf } from "./client.js";
export type { BodyOf, ClientOptions, Method, RequestOptions, ResultOf, Schemas, TokenSource } from "./client.js";
export { ParleySocket } from "./socket.js";
export type { Event, EventType, SocketOptions, TypingFrame } from "./socket.js";
export type { components, paths } from "./schema.js";
import type { components } from "./schema.js";
/** The type of an operator event (webhook deliveries, `/v1/operator/events`): `file.held`, `call.ended`... */
export type WebhookEventType = components["schemas"]["WebhookEventType"];
/** The operator dashboard (`GET /v1/admin/dashboard`). */
export type Dashboard = components["schemas"]["Dashboard"];
