// A canned stand-in for the Anthropic Messages API, for screenshots only: the real `claude`
// in the demo sessions talks to this (ANTHROPIC_BASE_URL) on a private Docker network, so
// no request leaves the machine and no real key is needed. Replies are picked by a word in
// the prompt; the "slow" one streams for minutes so that a session shows as working.
//
//   node demo-api.js PORT [TLS_PORT CERT KEY]
// With TLS_PORT it also serves HTTPS there: the sessions' credential broker only forwards over
// verified TLS (take.sh makes a throwaway CA for it).
"use strict";
const http = require("http");
const https = require("https");
const fs = require("fs");

const REPLIES = [
  {
    match: /healthz/i,
    delay: 40,
    text:
      "Here's how I'd do it:\n\n" +
      "1. **Route**: add `GET /healthz` to `app/routes.py`, returning `{\"status\": \"ok\"}`.\n" +
      "2. **Readiness**: run `SELECT 1` against the database and answer 503 if it fails, so " +
      "the load balancer stops sending traffic to a broken instance.\n" +
      "3. **Tests**: add `tests/test_health.py` covering the healthy and the failing case.\n\n" +
      "It needs no new dependencies. Shall I go ahead?",
  },
  {
    match: /slow|profile|benchmark/i,
    delay: 4000,
    text:
      "I'll start by timing the import on the sample file, then profile the hot path. " +
      "The parser reads the whole CSV into memory before validating it, so the first thing " +
      "to check is whether streaming the rows changes the peak memory and the wall time. " +
      "After that I'll look at the per-row validation, which builds a new regex for every " +
      "field, and at the database writes, which are committed one row at a time.",
  },
];
const FALLBACK = { delay: 40, text: "Done." };

function lastUserText(req) {
  const msgs = Array.isArray(req.messages) ? req.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    if (msgs[i].role !== "user") continue;
    const c = msgs[i].content;
    if (typeof c === "string") return c;
    if (Array.isArray(c)) return c.filter((b) => b.type === "text").map((b) => b.text).join("\n");
  }
  return "";
}

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const handler = (req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    console.log(req.method, req.url);
    let json = {};
    try {
      json = JSON.parse(body || "{}");
    } catch (e) {}
    const send = (obj) => {
      const b = JSON.stringify(obj);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(b) });
      res.end(b);
    };
    if (req.method !== "POST") return send({ data: [], has_more: false });
    if (req.url.includes("count_tokens")) return send({ input_tokens: 10 });
    if (!req.url.startsWith("/v1/messages")) return send({});
    const model = json.model || "claude-demo";
    const usage = { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    // Titles, topics and other side requests: short and immediate.
    const main = json.stream && (json.max_tokens || 0) > 1000;
    const prompt = lastUserText(json);
    const reply = main ? REPLIES.find((r) => r.match.test(prompt)) || FALLBACK : { delay: 0, text: "Demo session" };
    if (!json.stream) {
      return send({
        id: "msg_demo", type: "message", role: "assistant", model,
        content: [{ type: "text", text: reply.text }], stop_reason: "end_turn", stop_sequence: null, usage,
      });
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "close" });
    sse(res, "message_start", {
      type: "message_start",
      message: { id: "msg_demo", type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage },
    });
    sse(res, "content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    const words = reply.text.match(/\S+\s*/g) || [];
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i < words.length) {
        sse(res, "content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: words[i++] } });
        return setTimeout(next, reply.delay);
      }
      sse(res, "content_block_stop", { type: "content_block_stop", index: 0 });
      sse(res, "message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: words.length } });
      sse(res, "message_stop", { type: "message_stop" });
      res.end();
    };
    next();
  });
};
const port = Number(process.argv[2] || 8080);
http.createServer(handler).listen(port, "0.0.0.0", () => console.log(`demo api on ${port}`));
if (process.argv[3]) {
  const tls = { cert: fs.readFileSync(process.argv[4]), key: fs.readFileSync(process.argv[5]) };
  const tlsPort = Number(process.argv[3]);
  https.createServer(tls, handler).listen(tlsPort, "0.0.0.0", () => console.log(`demo api on ${tlsPort} (TLS)`));
}
