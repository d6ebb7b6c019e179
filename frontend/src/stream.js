// A job's events over the websocket, exactly once and in order: reconnects with ?after=<last seq> when the connection
// drops, fills any gap from GET /events a page at a time, and ignores replays it has already seen. A run opened again
// (a reload, a link) reads its history in pages first, then streams what follows.

import { api, ApiError, streamUrl, unauthorized } from "./api.js";

const FINAL = new Set(["completed", "failed", "cancelled", "diverged"]);
// The server refuses a stream with these close codes: no session (4401), not allowed or a foreign Origin (4403), a job
// not visible to this user (4404). Reconnecting would not help.
const NO_SESSION = 4401;
const REFUSED = new Set([4403, 4404]);

export function isFinal(ev) {
  return ev && ev.type === "status" && FINAL.has(ev.status);
}

export class JobStream {
  /** onEvent(ev) gets every event once, in seq order; onState("open" | "reconnecting" | "done" | "refused") tracks the link. */
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

  /** catchUp: read the events so far over REST in pages before opening the socket (a run opened again). */
  start({ catchUp = false } = {}) {
    if (catchUp) this.chain = this.chain.then(() => this.fill()).then(() => this.connect());
    else this.connect();
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
    ws.onclose = (event) => this.lost(ws, event.code);
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

  /** Fetch the events between lastSeq and `before` that the socket skipped, a page at a time. */
  async fill(before = Infinity) {
    try {
      let after = this.lastSeq;
      while (!this.stopped && !this.done && this.lastSeq + 1 < before) {
        const { events, nextAfter } = await api.eventPage(this.jobId, after);
        for (const ev of events.sort((a, b) => a.seq - b.seq)) {
          if (ev.seq === this.lastSeq + 1 && ev.seq < before) this.accept(ev);
        }
        if (!events.length || nextAfter <= after) break;
        after = nextAfter;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) this.refuse();
      else if (!(err instanceof ApiError && err.status === 401)) console.warn("could not fill the event gap", err);
    }
  }

  /** The server will not stream this job to us (deleted, unshared, not ours): stop trying. */
  refuse() {
    if (this.stopped) return;
    this.close();
    this.onState("refused");
  }

  lost(ws, code = 1006) {
    if (ws !== this.ws) return; // an old socket we already replaced
    this.ws = null;
    if (this.done || this.stopped) return;
    if (code === NO_SESSION) unauthorized();
    if (code === NO_SESSION || REFUSED.has(code)) {
      this.refuse();
      return;
    }
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
