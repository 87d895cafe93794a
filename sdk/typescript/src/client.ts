// The REST client: typed by the generated `paths` (src/schema.d.ts), built on fetch.
import type { components, paths } from "./schema.js";

export type Schemas = components["schemas"];
export type Method = "get" | "post" | "put" | "patch" | "delete";

type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<C> = C extends { content: { "application/json": infer T } } ? T : never;
/** The JSON body an operation takes. */
export type BodyOf<P extends keyof paths, M extends Method> =
  Op<P, M> extends { requestBody?: infer R } ? Json<NonNullable<R>> : never;
/** The JSON answer of an operation's 2xx responses. */
export type ResultOf<P extends keyof paths, M extends Method> =
  Op<P, M> extends { responses: infer R }
    ? { [K in keyof R]: K extends 200 | 201 | 202 ? Json<R[K]> : never }[keyof R]
    : never;
type Params<P extends keyof paths, M extends Method> =
  Op<P, M> extends { parameters: infer Q } ? Q : never;
type PathParams<P extends keyof paths, M extends Method> =
  Params<P, M> extends { path?: infer X } ? NonNullable<X> : Record<string, never>;
type QueryParams<P extends keyof paths, M extends Method> =
  Params<P, M> extends { query?: infer X } ? NonNullable<X> : Record<string, never>;

export interface RequestOptions<P extends keyof paths, M extends Method> {
  path?: PathParams<P, M>;
  query?: QueryParams<P, M>;
  body?: BodyOf<P, M>;
  signal?: AbortSignal;
}

/** Where a token comes from: a fixed string, or a function asked again when it is refused
 * (the marketplace's backend mints a new one). */
export type TokenSource = string | ((refresh: boolean) => string | Promise<string>);

export interface ClientOptions {
  /** The server, e.g. `https://chat.example.com`. */
  baseUrl: string;
  token: TokenSource;
  fetch?: typeof fetch;
}

/** An error answer: `{"error": {"code", "message", ...}}` with its HTTP status. A blocked
 * message (`policy_violation`) carries the findings in `details`. */
export class ParleyError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(status: number, body: unknown) {
    const e = (body as { error?: Record<string, unknown> } | null)?.error ?? {};
    super(String(e.message ?? `HTTP ${status}`));
    this.name = "ParleyError";
    this.status = status;
    this.code = String(e.code ?? "http_error");
    this.details = e;
  }
}

/** Resolves a token source (`refresh`: the last token was refused). */
export async function tokenOf(source: TokenSource, refresh = false): Promise<string> {
  return typeof source === "string" ? source : source(refresh);
}

export class ParleyClient {
  readonly baseUrl: string;
  private readonly source: TokenSource;
  private readonly fetchFn: typeof fetch;
  private token?: string;

  constructor(opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.source = opts.token;
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The current token (asking the source the first time, or again when `refresh`). */
  async currentToken(refresh = false): Promise<string> {
    if (!this.token || refresh) this.token = await tokenOf(this.source, refresh);
    return this.token;
  }

  /** Any operation of the API, typed by its path and method. A 401 asks the token source
   * for a new token once and retries. */
  async request<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    opts: RequestOptions<P, M> = {},
  ): Promise<ResultOf<P, M>> {
    let url = this.baseUrl + String(path).replace(/\{(\w+)\}/g, (_, k: string) =>
      encodeURIComponent(String((opts.path as Record<string, unknown> | undefined)?.[k] ?? "")),
    );
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries((opts.query ?? {}) as Record<string, unknown>)) {
      if (v !== undefined && v !== null) q.set(k, String(v));
    }
    if (q.toString()) url += `?${q}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await this.currentToken(attempt > 0)}`,
      };
      if (opts.body !== undefined) headers["content-type"] = "application/json";
      const res = await this.fetchFn(url, {
        method: method.toUpperCase(),
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
      const text = await res.text();
      const data = text ? JSON.parse(text) : null;
      if (res.ok) return data as ResultOf<P, M>;
      if (res.status === 401 && attempt === 0 && typeof this.source === "function") continue;
      throw new ParleyError(res.status, data);
    }
  }

  /** The signed-in user. */
  me() {
    return this.request("get", "/v1/me");
  }
  /** My conversations, most recent first. */
  conversations(query: QueryParams<"/v1/conversations", "get"> = {}) {
    return this.request("get", "/v1/conversations", { query });
  }
  /** Messages of a conversation (newest last). */
  messages(id: string, query: QueryParams<"/v1/conversations/{id}/messages", "get"> = {}) {
    return this.request("get", "/v1/conversations/{id}/messages", { path: { id }, query });
  }
  /** Sends a message; the same `client_id` is the same message (safe to retry). A blocked text
   * throws a ParleyError with code `policy_violation` and the findings. */
  send(id: string, body: string, clientId: string = randomId()) {
    return this.request("post", "/v1/conversations/{id}/messages", {
      path: { id },
      body: { body, client_id: clientId } as BodyOf<"/v1/conversations/{id}/messages", "post">,
    });
  }
  /** Marks a conversation read up to a message. */
  markRead(id: string, messageId: number) {
    return this.request("post", "/v1/conversations/{id}/read", {
      path: { id },
      body: { message_id: messageId } as BodyOf<"/v1/conversations/{id}/read", "post">,
    });
  }
  /** My events after a cursor (what the WebSocket replays). */
  events(cursor = 0) {
    return this.request("get", "/v1/events", { query: { cursor } as QueryParams<"/v1/events", "get"> });
  }
}

/** A random id for `client_id`. */
export function randomId(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
