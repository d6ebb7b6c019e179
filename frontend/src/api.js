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

async function request(method, path, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
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
  if (!response.ok) throw new ApiError(response.status, data && typeof data === "object" && "detail" in data ? data.detail : data);
  return data;
}

const enc = encodeURIComponent;

export const api = {
  health: () => request("GET", "api/health"),
  catalog: () => request("GET", "api/catalog"),
  check: (spec, opts) => request("POST", "api/check", spec, opts),
  preview: (params, opts) => {
    const { name, ...query } = params;
    const qs = Object.entries(query)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${enc(k)}=${enc(v)}`)
      .join("&");
    return request("GET", `api/datasets/${enc(name)}/preview${qs ? `?${qs}` : ""}`, undefined, opts);
  },
  submit: (spec) => request("POST", "api/jobs", spec),
  jobs: (limit = 100) => request("GET", `api/jobs?limit=${limit}`),
  job: (id) => request("GET", `api/jobs/${enc(id)}`),
  events: (id, after = null) => request("GET", `api/jobs/${enc(id)}/events${after === null ? "" : `?after=${after}`}`),
  cancel: (id) => request("POST", `api/jobs/${enc(id)}/cancel`),
  remove: (id) => request("DELETE", `api/jobs/${enc(id)}`),
  race: (body) => request("POST", "api/optimizer-race", body),
};

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
