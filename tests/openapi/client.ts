// A small typed client written against the types openapi-typescript generates from
// schema/openapi.json (generated/api.d.ts). It is only type-checked (tsc --noEmit):
// if the document stops describing what this code relies on, the check fails. The
// `@ts-expect-error` lines fail it too when the document becomes looser than the server.

import type { components, operations, paths } from "./generated/api.js";

type Schemas = components["schemas"];
export type Agent = Schemas["Agent"];
export type Run = Schemas["Run"];
export type RunStep = Schemas["RunStep"];
export type RunEvent = Schemas["RunEvent"];
export type ApiKey = Schemas["ApiKey"];
export type Problem = Schemas["Problem"];
export type RunStatus = NonNullable<Run["status"]>;
type Json = "application/json";

/** An error answer: the problem document and the HTTP status. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.code}: ${problem.detail}`);
  }
}

/** The body of `op`'s answer with `status`. */
type Answer<Op extends keyof operations, S extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][S] extends { content: { "application/json": infer B } } ? B : never;

export class OrchStack {
  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json: unknown = await res.json();
    if (!res.ok) {
      throw new ProblemError(res.status, json as Problem);
    }
    return { status: res.status, body: json as T };
  }

  async createAgent(input: paths["/v1/agents"]["post"]["requestBody"]["content"][Json]): Promise<Agent> {
    return (await this.call<Answer<"createAgent", 201>>("POST", "/v1/agents", input)).body;
  }

  async listAgents(limit: number): Promise<Agent[]> {
    const page = await this.call<Answer<"listAgents", 200>>("GET", `/v1/agents?limit=${limit}`);
    const more: boolean = page.body.has_more;
    const next: string | null = page.body.next_cursor;
    void more;
    void next;
    return page.body.data;
  }

  /** Runs an agent; `done` is false when the answer was 202 (the run goes on). */
  async runAgent(
    agentId: string,
    input: Schemas["RunAgentInput"],
  ): Promise<{ done: boolean; run: Answer<"runAgent", 200 | 202> }> {
    const { status, body } = await this.call<Answer<"runAgent", 200>>("POST", `/v1/agents/${agentId}/run`, input);
    return { done: status === 200, run: body };
  }

  async getRun(id: string): Promise<Run> {
    return (await this.call<Answer<"getRun", 200>>("GET", `/v1/runs/${id}`)).body;
  }

  async cancelRun(id: string): Promise<{ ended: boolean; run: Answer<"cancelRun", 200> }> {
    const { status, body } = await this.call<Answer<"cancelRun", 202>>("POST", `/v1/runs/${id}/cancel`);
    return { ended: status === 200, run: body };
  }
}

// What the document promises, checked at compile time.

export const statuses: RunStatus[] = ["queued", "running", "waiting_for_approval", "completed", "failed", "cancelled"];
// @ts-expect-error: not a run status
export const notAStatus: RunStatus = "done";

export const streamed: Schemas["RunAgentInput"] = { input: "hi", stream: true, mode: "async", multitask: "reject" };
// @ts-expect-error: `input` is required
export const noInput: Schemas["RunAgentInput"] = { channel: "web" };

export function summary(run: Run): string {
  // Fields `?fields=` can leave out are optional: a client checks before use.
  const steps: RunStep[] = run.steps ?? [];
  const kinds: ("llm" | "tool" | "retrieval")[] = steps.flatMap((s) => [s.type]);
  // @ts-expect-error: `tokens` may be left out by `fields`
  const tokens: number = run.tokens.input;
  void tokens;
  return `${run.id ?? "?"} ${run.status ?? "?"} ${kinds.join(",")} ${run.error?.code ?? ""}`;
}

export const event: RunEvent = { seq: 1, type: "run.created", data: { run_id: "run_1" } };
export const mode: NonNullable<ApiKey["mode"]> = "test";

type NotFound = components["responses"]["NotFound"]["content"]["application/problem+json"];
export const notFound: NotFound["code"] = "not_found";
// @ts-expect-error: a 404 carries only `not_found`
export const notFoundConflict: NotFound["code"] = "conflict";

// @ts-expect-error: creating an agent has no 404
export type CreateAgent404 = operations["createAgent"]["responses"][404]["content"];
export type RunAgent202 = operations["runAgent"]["responses"][202]["content"][Json];
export type Events = operations["runEvents"]["parameters"]["header"];
export const resume: NonNullable<Events>["Last-Event-ID"] = 42;
