// The TypeScript client against a live Herald (clients/live-test starts one and sets the
// environment): connect the simulator's Telegram channel, publish a post, read it back
// until it is published, and see a bad request answered as a typed problem document.
import { randomUUID } from "node:crypto";

import { createHeraldClient, type Schemas } from "../src/index.js";

const DEADLINE_MS = 60_000;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function fail(message: string): never {
  console.error(`typescript client: ${message}`);
  process.exit(1);
}

const url = env("HERALD_URL");
const admin = createHeraldClient(url, env("HERALD_ADMIN_KEY"));
const client = createHeraldClient(url, env("HERALD_API_KEY"));

const connected = await admin.POST("/v1/connections/telegram", {
  body: {
    bot_token: env("HERALD_TELEGRAM_BOT_TOKEN"),
    chat_id: env("HERALD_TELEGRAM_CHAT"),
  },
});
if (!connected.data) fail(`connect telegram: ${JSON.stringify(connected.error)}`);
const connection: Schemas["ConnectionOut"] = connected.data;

const created = await client.POST("/v1/posts", {
  params: { header: { "Idempotency-Key": `typescript-${randomUUID()}` } },
  body: {
    targets: [connection.id],
    text: `Hello from the TypeScript client (${randomUUID().slice(0, 8)})`,
  },
});
if (created.response.status !== 202 || !created.data) {
  fail(`create post answered ${created.response.status}: ${JSON.stringify(created.error)}`);
}
const postId = created.data.id;

const deadline = Date.now() + DEADLINE_MS;
let post: Schemas["PostOut"];
for (;;) {
  const read = await client.GET("/v1/posts/{id}", { params: { path: { id: postId } } });
  if (!read.data) fail(`get post: ${JSON.stringify(read.error)}`);
  post = read.data;
  if (post.state === "published") break;
  if (post.state === "failed" || post.state === "cancelled" || Date.now() > deadline) {
    fail(`the post is ${post.state}: ${JSON.stringify(post)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const [delivery] = post.deliveries;
if (post.deliveries.length !== 1 || delivery.connection_id !== connection.id || !delivery.url) {
  fail(`unexpected deliveries: ${JSON.stringify(post.deliveries)}`);
}

const missing = await client.GET("/v1/posts/{id}", { params: { path: { id: randomUUID() } } });
if (missing.response.status !== 404 || missing.error?.code !== "not_found") {
  fail(`an unknown post answered ${missing.response.status}: ${JSON.stringify(missing.error)}`);
}

console.log(`typescript client: post ${postId} published at ${delivery.url}`);
