// POST /webhooks/github: GitHub's deliveries, verified with the PreviewRepository's HMAC key, then
// planned (plan.ts, pure) and applied through the API server (apply.ts). Answers: 202 when
// something changed, 200 when nothing changed (ignored, replayed or older; logged), 400 for a
// malformed payload, 401 for a missing or wrong signature, 404 for an unknown repository, 413 for a
// body over 1 MiB.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ForkChange, recordForkChange } from '../../controllers/preview/forks.ts';
import { SecretReader } from '../../github/secrets.ts';
import type { KubeClient } from '../../runtime/kube-client.ts';
import type { Logger } from '../../runtime/log.ts';
import { toHttpError } from '../api/errors.ts';
import type { HttpContext } from '../context.ts';
import { applyAction, type Outcome } from './apply.ts';
import { reportAwaitingApproval } from './approval.ts';
import { PayloadError, parseEvent, repositoryOf } from './event.ts';
import { planEvent } from './plan.ts';
import { RecentDeliveries } from './recent.ts';
import { candidates, verifyDelivery } from './verify.ts';

export const WEBHOOK_PATH = '/webhooks/github';
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

const fail = (reply: FastifyReply, code: number, reason: string, message: string) =>
  reply.code(code).send({ error: { code, reason, message } });

const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export async function registerWebhookRoutes(app: FastifyInstance, ctx: HttpContext): Promise<void> {
  const secrets = new SecretReader(ctx.client);
  const recent = new RecentDeliveries();
  const log = ctx.log.child({ component: 'webhook' });
  await app.register(async (scope) => {
    // The signature covers the exact bytes sent: keep them, parse JSON ourselves.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      if (err.statusCode === 413)
        return fail(reply, 413, 'PayloadTooLarge', `the body is over ${WEBHOOK_BODY_LIMIT} bytes`);
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)
        return fail(reply, err.statusCode, 'BadRequest', err.message);
      // The API server refusing a preview (a branch name over its limit) is the delivery's fault.
      const e = toHttpError(err);
      if (e.code < 500)
        return fail(reply, e.code, e.reason, `the delivery could not be applied: ${e.message}`);
      log.error({ err }, 'webhook failed');
      return fail(reply, 500, 'InternalError', `the delivery could not be applied: ${err.message}`);
    });
    scope.post(WEBHOOK_PATH, { bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const delivery = header(req, 'x-github-delivery') ?? '';
      const event = header(req, 'x-github-event');
      const signature = header(req, 'x-hub-signature-256');
      const rlog = log.child({ delivery, event });
      if (!signature)
        return fail(
          reply,
          401,
          'MissingSignature',
          'X-Hub-Signature-256 is missing: set a secret on the webhook',
        );
      if (!event) return fail(reply, 400, 'MissingEvent', 'X-GitHub-Event is missing');
      if (!delivery) return fail(reply, 400, 'MissingDelivery', 'X-GitHub-Delivery is missing');
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      let payload: unknown;
      let fullName: string;
      try {
        payload = JSON.parse(jsonText(raw, header(req, 'content-type')));
        // An organization's or App's webhook pings without a repository: no secret to check it
        // with, and nothing to do.
        if (event === 'ping' && !(payload as { repository?: unknown } | null)?.repository)
          return reply.code(200).send({ ignored: 'ping without a repository: nothing to do' });
        fullName = repositoryOf(payload);
      } catch (e) {
        return fail(reply, 400, 'MalformedPayload', describe(e));
      }
      const verdict = await verifyDelivery(
        secrets,
        candidates(ctx.repositories.list(), fullName),
        fullName,
        raw,
        signature,
        rlog,
      );
      if (!verdict.ok) {
        rlog.warn({ repository: fullName, reason: verdict.reason }, verdict.message);
        return fail(reply, verdict.code, verdict.reason, verdict.message);
      }
      let parsed: ReturnType<typeof parseEvent>;
      try {
        parsed = parseEvent(event, payload);
      } catch (e) {
        return fail(reply, 400, 'MalformedPayload', describe(e));
      }
      if (recent.has(delivery)) {
        rlog.info('delivery already applied; nothing changes');
        return reply.code(200).send({ ignored: `delivery ${delivery} already applied` });
      }
      const eventTime = parsed.kind === 'pull_request' ? parsed.updatedAt : undefined;
      const outcomes: Outcome[] = [];
      const ignored: string[] = [];
      for (const repository of verdict.repositories) {
        const ns = repository.metadata.namespace as string;
        const plan = planEvent(parsed, { delivery, eventTime }, repository, ctx.previews.listNamespace(ns));
        const name = repository.metadata.name as string;
        if (plan.ignored) ignored.push(`${ns}/${name}: ${plan.ignored}`);
        if (plan.awaitingApproval) {
          await listFork(ctx.client, ns, name, { type: 'open', pullRequest: plan.awaitingApproval }, rlog);
          if (ctx.github)
            void reportAwaitingApproval(ctx.github, repository, plan.awaitingApproval.commit, rlog, {
              publicUrl: ctx.publicUrl,
            });
        }
        for (const action of plan.actions) outcomes.push(await applyAction(ctx.client, action));
        if (plan.forkClosed)
          await listFork(ctx.client, ns, name, { type: 'closed', ...plan.forkClosed }, rlog);
      }
      recent.add(delivery);
      if (!outcomes.some((o) => o.changed)) {
        rlog.info({ repository: fullName, reasons: ignored, outcomes }, 'webhook changed nothing');
        return reply
          .code(200)
          .send({ ignored: [...ignored, ...outcomes.map((o) => `${o.name}: ${o.result}`)].join('; ') });
      }
      rlog.info({ repository: fullName, outcomes }, 'webhook applied');
      return reply
        .code(202)
        .send({ accepted: outcomes, ...(ignored.length ? { ignored: ignored.join('; ') } : {}) });
    });
  });
}

/**
 * The fork list is a hint for the people who approve, as the pending status is: failing to write
 * it is logged, and does not fail the delivery (nor the other repositories it is for).
 */
async function listFork(client: KubeClient, ns: string, name: string, change: ForkChange, log: Logger) {
  try {
    await recordForkChange(client, ns, name, change);
  } catch (e) {
    log.warn(
      { repository: `${ns}/${name}`, err: (e as Error).message },
      'could not list the pull request from a fork',
    );
  }
}

/** GitHub sends JSON, or `payload=<json>` when the webhook's content type is form-encoded. */
function jsonText(raw: string, contentType: string | undefined): string {
  if (!contentType?.startsWith('application/x-www-form-urlencoded')) return raw;
  const payload = new URLSearchParams(raw).get('payload');
  if (payload === null) throw new PayloadError('form-encoded body without a payload field');
  return payload;
}

const describe = (e: unknown) =>
  e instanceof SyntaxError
    ? `the body is not JSON: ${e.message}`
    : e instanceof Error
      ? e.message
      : String(e);
