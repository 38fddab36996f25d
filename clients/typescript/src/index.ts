// Herald's TypeScript client: the types are generated from the OpenAPI description
// (src/schema.ts, by clients/generate), the requests are openapi-fetch's, so every path,
// parameter, body and answer is checked by the compiler.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type { components, paths, webhooks } from "./schema.js";

export type { components, paths, webhooks };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** A client for one Herald API with one API key (`hrld_...`). */
export function createHeraldClient(
  baseUrl: string,
  apiKey: string,
  options: Omit<ClientOptions, "baseUrl"> = {},
): Client<paths> {
  return createClient<paths>({
    ...options,
    baseUrl,
    headers: { ...options.headers, Authorization: `Bearer ${apiKey}` },
  });
}
