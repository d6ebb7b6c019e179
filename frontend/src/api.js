// The only way the page talks to the server: shared/API.md. Relative URLs, so the page works behind a path prefix.

export class ApiError extends Error {
  /** status: HTTP status (0 when the server could not be reached); detail: FastAPI's detail (string or list). */
  constructor(status, detail) {
    super(ApiError.describe(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }

  /** The 422 items as [{loc, msg}], empty for other errors. */
  get items() {
    return Array.isArray(this.detail) ? this.detail.filter((d) => d && typeof d === "object") : [];
  }

  static describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    if (detail && typeof detail === "object") return detail.msg || detail.message || JSON.stringify(detail);
    return "";
  }
}

let onUnauthorized = null;

/** fn(error) on any 401 outside the login itself: the session is gone (classroom mode), show the join screen. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** The session ended somewhere other than a REST call (a websocket closed for it). */
export function unauthorized() {
  if (onUnauthorized) onUnauthorized(new ApiError(401, "no session"));
}

/** data, or {data, headers} with `withHeaders` (a page of events says where the next starts in a header). */
async function request(method, path, body, { signal, withHeaders = false } = {}) {
  let response;
  const form = body instanceof FormData; // a file upload: the browser writes the multipart body and its boundary
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: body === undefined || form ? {} : { "Content-Type": "application/json" },
      body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, err.message || "network error");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data && typeof data === "object" && "detail" in data ? data.detail : data);
    if (response.status === 401 && !path.startsWith("api/session") && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  return withHeaders ? { data, headers: response.headers } : data;
}

function query(params) {
  const qs = Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join("&");
  return qs ? `?${qs}` : "";
}

const enc = encodeURIComponent;
const PAGE = 1000; // events a page (the server's maximum)

export const api = {
  health: () => request("GET", "api/health"),
  catalog: () => request("GET", "api/catalog"),
  check: (spec, opts) => request("POST", "api/check", spec, opts),
  preview: (params, opts) => {
    const { name, ...rest } = params;
    return request("GET", `api/datasets/${enc(name)}/preview${query(rest)}`, undefined, opts);
  },
  submit: (spec) => request("POST", "api/jobs", spec),
  /** Job summaries, newest first; filters: {limit, status, class_id, owner}. */
  jobs: (filters = {}) => request("GET", `api/jobs${query({ limit: 100, ...filters })}`),
  job: (id) => request("GET", `api/jobs/${enc(id)}`),
  /** One page of events after `after` (at most PAGE, and at most a few MB): {events, nextAfter}; read on from
   * nextAfter (the X-Next-After header) until a page is empty or ends with the final status. */
  eventPage: async (id, after = -1) => {
    const { data, headers } = await request("GET", `api/jobs/${enc(id)}/events${query({ after, limit: PAGE })}`, undefined, { withHeaders: true });
    const events = Array.isArray(data) ? data : [];
    const next = Number(headers.get("X-Next-After"));
    return { events, nextAfter: Number.isFinite(next) && headers.has("X-Next-After") ? next : (events.at(-1)?.seq ?? after) };
  },
  /** The epochs' scalars after seq `after`, as columns, with the job's status and last_seq. */
  metrics: (id, after = -1) => request("GET", `api/jobs/${enc(id)}/metrics${query({ after })}`),
  cancel: (id) => request("POST", `api/jobs/${enc(id)}/cancel`),
  pause: (id) => request("POST", `api/jobs/${enc(id)}/pause`),
  resume: (id) => request("POST", `api/jobs/${enc(id)}/resume`),
  step: (id) => request("POST", `api/jobs/${enc(id)}/step`),
  /** A running or paused job's learning rate from its next step on. */
  setLr: (id, lr) => request("PATCH", `api/jobs/${enc(id)}`, { lr }),
  remove: (id) => request("DELETE", `api/jobs/${enc(id)}`),
  share: (id, on) => request(on ? "POST" : "DELETE", `api/jobs/${enc(id)}/share`),
  race: (body) => request("POST", "api/optimizer-race", body),
  /** A CSV as a dataset: FormData with file, target, and optionally name, task and features (repeated). */
  upload: (form) => request("POST", "api/datasets", form),
  deleteDataset: (name) => request("DELETE", `api/datasets/${enc(name)}`),
  shareDataset: (name, on) => request(on ? "POST" : "DELETE", `api/datasets/${enc(name)}/share`),
  /** The lessons (with their variants' specs) and the page's presets. */
  lessons: () => request("GET", "api/lessons"),
  /** A lesson's verdicts over {variant: job id}. */
  verdicts: (lessonId, jobs) => request("POST", `api/lessons/${enc(lessonId)}/verdicts`, { jobs }),
  /** The one event with this seq. */
  eventAt: async (id, seq) => (await request("GET", `api/jobs/${enc(id)}/events${query({ after: seq - 1, limit: 1 })}`))[0] ?? null,
  session: () => request("GET", "api/session"),
  /** {password} (teacher) or {class_code, name} (student). */
  login: (body) => request("POST", "api/session", body),
  logout: () => request("DELETE", "api/session"),
  classes: () => request("GET", "api/classes"),
  createClass: (name) => request("POST", "api/classes", { name }),
  getClass: (id) => request("GET", `api/classes/${enc(id)}`),
  patchClass: (id, changes) => request("PATCH", `api/classes/${enc(id)}`, changes),
  deleteClass: (id) => request("DELETE", `api/classes/${enc(id)}`),
};

/** Where the teacher downloads a class's results (a plain link: the browser sends the session cookie). */
export function resultsCsvUrl(classId) {
  return `api/classes/${enc(classId)}/results.csv`;
}

/** ws:// or wss:// URL of a job's event stream, relative to the page like the REST calls. */
export function streamUrl(id, after) {
  const url = new URL(`api/jobs/${enc(id)}/stream`, document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null && after !== undefined && after >= 0) url.searchParams.set("after", String(after));
  return url.toString();
}

/** The job list, whatever envelope the server wraps it in. */
export function jobList(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.jobs)) return data.jobs;
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}
