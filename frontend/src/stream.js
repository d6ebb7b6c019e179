// A job's events over the websocket, exactly once and in order: reconnects with ?after=<last seq> when the connection
// drops, fills any gap from GET /events, and ignores replays it has already seen.

import { api, streamUrl } from "./api.js";

const FINAL = new Set(["completed", "failed", "cancelled", "diverged"]);

export function isFinal(ev) {
  return ev && ev.type === "status" && FINAL.has(ev.status);
}

export class JobStream {
  /** onEvent(ev) gets every event once, in seq order; onState("open" | "reconnecting" | "done") tracks the link. */
  constructor(jobId, { onEvent, onState = () => {} }) {
    this.jobId = jobId;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastSeq = -1;
    this.ws = null;
    this.done = false;
    this.stopped = false;
    this.failures = 0;
    this.reconnects = 0;
    this.chain = Promise.resolve();
    this.retryTimer = null;
    this.dropAtEpochs = new Set(); // test hook: drop the link right after these epochs
  }

  start() {
    this.connect();
    return this;
  }

  connect() {
    if (this.done || this.stopped) return;
    const ws = new WebSocket(streamUrl(this.jobId, this.lastSeq));
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0;
      this.onState("open");
    };
    ws.onmessage = (msg) => {
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      this.enqueue(ev, ws);
    };
    ws.onerror = () => {}; // a close event always follows; it decides
    ws.onclose = () => this.lost(ws);
  }

  /** Events are handled one after another, so a REST gap-fill never interleaves with newer frames. */
  enqueue(ev, ws) {
    this.chain = this.chain.then(() => this.handle(ev, ws)).catch((err) => console.warn("event handling failed", err));
  }

  async handle(ev, ws) {
    if (typeof ev.seq !== "number" || ev.seq <= this.lastSeq) return; // a replay we already have
    if (ev.seq > this.lastSeq + 1) await this.fill(ev.seq);
    if (ev.seq <= this.lastSeq) return;
    this.accept(ev);
    if (ev.type === "epoch" && this.dropAtEpochs.has(ev.epoch) && ws === this.ws) {
      this.dropAtEpochs.delete(ev.epoch);
      this.drop();
    }
  }

  accept(ev) {
    this.lastSeq = ev.seq;
    if (isFinal(ev)) {
      this.done = true;
      this.onState("done");
    }
    this.onEvent(ev);
  }

  /** Fetch the events between lastSeq and `before` that the socket skipped. */
  async fill(before = Infinity) {
    try {
      const events = await api.events(this.jobId, this.lastSeq);
      const list = Array.isArray(events) ? events : (events && events.events) || [];
      for (const ev of list.sort((a, b) => a.seq - b.seq)) {
        if (ev.seq === this.lastSeq + 1 && ev.seq < before) this.accept(ev);
      }
    } catch (err) {
      console.warn("could not fill the event gap", err);
    }
  }

  lost(ws) {
    if (ws !== this.ws) return; // an old socket we already replaced
    this.ws = null;
    if (this.done || this.stopped) return;
    this.failures += 1;
    this.reconnects += 1;
    this.onState("reconnecting");
    const delay = Math.min(5000, 150 * 2 ** Math.min(this.failures, 6));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      // After repeated failures, catch up over REST first: progress even if websockets are blocked.
      const catchUp = this.failures > 2 ? (this.chain = this.chain.then(() => this.fill())) : Promise.resolve();
      catchUp.then(() => this.connect());
    }, delay);
  }

  /** Simulates a dropped connection (tests and the debug hook): the socket dies mid-stream, we reconnect. */
  drop() {
    const ws = this.ws;
    if (!ws) return false;
    ws.onmessage = null;
    ws.onclose = null;
    quietClose(ws);
    this.lost(ws);
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.onmessage = null;
      quietClose(ws);
    }
  }
}

/** Closing a socket that is still connecting logs a console error in Chromium: wait for it to open, then close. */
function quietClose(ws) {
  if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
  else ws.close();
}
