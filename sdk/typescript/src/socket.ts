// Live events over WebSocket: reconnects with backoff, resumes from the cursor, drops events
// already seen (by `seq`), asks the token source again when the token expired or was revoked.
import type { Schemas, TokenSource } from "./client.js";
import { tokenOf } from "./client.js";

export type Event = Schemas["Event"];
export type EventType = "message.created" | "message.updated" | "message.deleted" | "read" |
  "enforcement.created" | "enforcement.updated" | (string & {});
export interface TypingFrame { type: "typing"; conversation_id: string; user_id?: string; from?: string }

type Listener<T> = (v: T) => void;
type WsLike = {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
};
type WsCtor = new (url: string) => WsLike;

export interface SocketOptions {
  baseUrl: string;
  token: TokenSource;
  /** Resume after this event (`seq`); 0: every stored event. */
  cursor?: number;
  /** A WebSocket constructor (Node: the `ws` package); default: the global one. */
  WebSocket?: WsCtor;
  /** Longest wait between reconnections, ms. */
  maxBackoffMs?: number;
}

/** Close codes after which the token is asked for again (expired, revoked). */
const TOKEN_CLOSES = new Set([4001, 4002]);
/** Close codes after which the socket stays closed (suspended). */
const FINAL_CLOSES = new Set([4003]);

export class ParleySocket {
  /** The last event seen: reconnections resume after it. */
  cursor: number;
  private readonly opts: SocketOptions;
  private ws?: WsLike;
  private stopped = false;
  private attempts = 0;
  private refresh = false;
  private timer?: ReturnType<typeof setTimeout>;
  private readonly events = new Map<string, Set<Listener<Event>>>();
  private readonly others = new Map<string, Set<Listener<any>>>();

  constructor(opts: SocketOptions) {
    this.opts = opts;
    this.cursor = opts.cursor ?? 0;
  }

  /** Every stored event of this type (`"*"`: all), each once and in order. */
  on(type: EventType | "*", fn: Listener<Event>): () => void {
    return add(this.events, type, fn);
  }
  /** Typing signals, connection state changes (`open`, `close`), errors. */
  onTyping(fn: Listener<TypingFrame>) { return add(this.others, "typing", fn); }
  onState(fn: Listener<{ state: "open" | "closed"; code?: number; reason?: string }>) {
    return add(this.others, "state", fn);
  }

  /** Opens the socket (and keeps it open until `close`). */
  async connect(): Promise<void> {
    this.stopped = false;
    const token = await tokenOf(this.opts.token, this.refresh);
    this.refresh = false;
    if (this.stopped) return;
    const base = this.opts.baseUrl.replace(/\/+$/, "").replace(/^http/, "ws");
    const url = `${base}/v1/ws?token=${encodeURIComponent(token)}&cursor=${this.cursor}`;
    const Ctor = this.opts.WebSocket ?? (globalThis as unknown as { WebSocket: WsCtor }).WebSocket;
    const ws = new Ctor(url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      emit(this.others, "state", { state: "open" });
    };
    ws.onmessage = (m) => this.frame(String(m.data));
    ws.onerror = () => {};
    ws.onclose = (c) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      emit(this.others, "state", { state: "closed", code: c.code, reason: c.reason });
      if (this.stopped || FINAL_CLOSES.has(c.code)) return;
      if (TOKEN_CLOSES.has(c.code)) this.refresh = true;
      this.schedule();
    };
  }

  /** Tells the others I am typing in a conversation. */
  typing(conversationId: string) {
    this.send({ type: "typing", conversation_id: conversationId });
  }

  /** Closes for good. */
  close() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, "bye");
    this.ws = undefined;
  }

  private send(v: unknown) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(v));
  }

  private schedule() {
    const max = this.opts.maxBackoffMs ?? 10_000;
    const delay = Math.min(max, 250 * 2 ** this.attempts++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => void this.connect().catch(() => this.schedule()), delay);
  }

  private frame(text: string) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(text);
    } catch {
      return;
    }
    const type = String(v.type ?? "");
    if (typeof v.seq === "number") {
      if (v.seq <= this.cursor) return; // seen already (a replay after reconnecting)
      this.cursor = v.seq;
      emit(this.events, type, v as unknown as Event);
      emit(this.events, "*", v as unknown as Event);
    } else if (type === "typing") {
      emit(this.others, "typing", v);
    }
  }
}

function add<T>(m: Map<string, Set<Listener<T>>>, k: string, fn: Listener<T>): () => void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(fn);
  return () => s!.delete(fn);
}

function emit<T>(m: Map<string, Set<Listener<T>>>, k: string, v: T) {
  for (const fn of m.get(k) ?? []) fn(v);
}
