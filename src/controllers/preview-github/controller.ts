// The GitHub reporter: its own controller and work queue, keyed by Preview, so that GitHub being
// slow or down never holds back the preview controller. A reconcile compares the report a preview
// wants (report.ts) with the one last sent (memory, else the annotation) and calls GitHub only when
// they differ. A preview deleted before its undeploy was reported is kept as a tombstone until its
// deployment is marked inactive.

import type { GitHubClients } from '../../github/client.ts';
import { RateLimitedError } from '../../github/retry.ts';
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
  TerminalError,
} from '../../runtime/controller.ts';
import { isNotFound } from '../../runtime/kube-client.ts';
import type { Manager } from '../../runtime/manager.ts';
import { OneAtATime } from '../../runtime/parallel.ts';
import { objectKey } from '../../runtime/watch-cache.ts';
import {
  PREVIEW_REPOSITORIES,
  PREVIEWS,
  type PreviewObject,
  type RepositoryObject,
} from '../preview/model.ts';
import { publish, publishComment } from './publish.ts';
import {
  COMMENT_ANNOTATION,
  DEPLOYMENT_ANNOTATION,
  desiredReport,
  isFleeting,
  REPORTED_ANNOTATION,
} from './report.ts';

export interface PreviewGitHubOptions {
  workers: number;
  /** One client (and installation token) per repository, shared with the resync. */
  clients: GitHubClients;
  /** Where users reach the web UI (`--public-url`): pull-request comments link to it. */
  publicUrl?: string;
}

export function setupPreviewGitHubController(mgr: Manager, opts: PreviewGitHubOptions): Controller {
  const previews = mgr.informer<PreviewObject>(PREVIEWS);
  const repositories = mgr.informer<RepositoryObject>(PREVIEW_REPOSITORIES);
  const { clients } = opts;
  /** uid → the annotations this process wrote (the cache may not show them yet); we are their only writer. */
  const written = new Map<string, Record<string, string>>();
  const tombstones = new Map<string, PreviewObject>();
  const comments = new OneAtATime();

  const reconcile = async (ctx: ReconcileContext, key: string): Promise<ReconcileResult> => {
    const [namespace, name] = key.split('/') as [string, string];
    const live = previews.get(namespace, name);
    const preview = live ?? tombstones.get(key);
    if (!preview) return undefined;
    const uid = preview.metadata.uid as string;
    const done = () => {
      if (!live) {
        tombstones.delete(key);
        written.delete(uid);
      }
      return undefined;
    };
    const repository = repositories.get(namespace, preview.spec.repository);
    if (!repository) return done();
    // Reported once it has moved on (its next status is another event of the preview).
    if (live && isFleeting(preview)) return undefined;
    const report = desiredReport(preview, !live, opts.publicUrl);
    const annotations = { ...preview.metadata.annotations, ...written.get(uid) };
    const reported = annotations[REPORTED_ANNOTATION];
    if (reported === report.key) return done();
    // Nothing was ever sent for a preview that is already going: nothing to take back.
    if (report.level === 'undeployed' && !reported) return done();
    const gh = await clients.forRepository(repository);
    if (!gh) return done();

    const save = async (more: Record<string, string>) => {
      written.set(uid, { ...written.get(uid), ...more });
      if (live) await patchAnnotations(mgr, namespace, name, more);
    };
    try {
      await publish(
        gh,
        preview,
        report,
        {
          deploymentId: numberOr(annotations[DEPLOYMENT_ANNOTATION]),
          deploymentCommit: reported?.split('/')[1],
        },
        save,
      );
      const body = report.comment;
      if (body !== undefined) {
        // Two previews of a pull request reporting at once would each find no comment and create
        // one: a pull request's comment is written by one reconcile at a time, and who speaks for
        // it (the newest preview) and the comment's id are read once it is this one's turn.
        const pullRequest = `${namespace}/${preview.spec.repository}#${preview.spec.pullRequest}`;
        await comments.run(pullRequest, async () => {
          const siblings = previews
            .listNamespace(namespace)
            .filter(
              (p) =>
                p.metadata.uid !== uid &&
                p.spec.repository === preview.spec.repository &&
                p.spec.pullRequest === preview.spec.pullRequest,
            );
          if (newest([...siblings, preview]) !== preview) return;
          // Ids this process wrote first: the cache may not show them yet.
          const known = [preview, ...siblings]
            .map((p) => {
              const id = p.metadata.uid as string;
              return written.get(id)?.[COMMENT_ANNOTATION] ?? p.metadata.annotations?.[COMMENT_ANNOTATION];
            })
            .find(Boolean);
          const id = String(await publishComment(gh, preview, body, numberOr(known)));
          if (id !== annotations[COMMENT_ANNOTATION]) await save({ [COMMENT_ANNOTATION]: id });
        });
      }
    } catch (e) {
      if (e instanceof RateLimitedError) {
        ctx.log.warn({ err: e.message }, 'GitHub rate limit: reporting later');
        return { requeueAfterMs: e.retryAfterMs };
      }
      const status = (e as { status?: number }).status;
      if (status === 401) clients.forget(repository);
      if (status && status >= 400 && status < 500 && ![401, 403, 404, 408, 409, 429].includes(status))
        throw new TerminalError(`GitHub refused the report of ${key}: ${(e as Error).message}`);
      throw e;
    }
    await save({ [REPORTED_ANNOTATION]: report.key });
    ctx.log.debug({ report: report.key }, 'reported to GitHub');
    return done();
  };

  const controller = new Controller({
    name: 'preview-github',
    workers: opts.workers,
    metrics: mgr.metrics,
    log: mgr.log,
    reconcile,
  });
  controller.watch(previews, (e) => {
    const key = objectKey(e.object);
    if (e.type === 'deleted') tombstones.set(key, e.object);
    return [key];
  });
  // Credentials added or changed: report what was not reported yet.
  controller.watch(repositories, (e) =>
    e.type === 'deleted' ||
    (e.type === 'updated' && e.old.metadata.generation === e.object.metadata.generation)
      ? []
      : previews
          .listNamespace(e.object.metadata.namespace as string)
          .filter((p) => p.spec.repository === e.object.metadata.name)
          .map(objectKey),
  );
  mgr.add(controller);
  return controller;
}

/** The preview that speaks for its pull request: the last created. */
const newest = (previews: PreviewObject[]) =>
  previews.sort(
    (a, b) =>
      String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)) ||
      String(b.metadata.name).localeCompare(String(a.metadata.name)),
  )[0];

const numberOr = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : undefined);

async function patchAnnotations(
  mgr: Manager,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
) {
  try {
    await mgr.client.mergePatch(PREVIEWS, namespace, name, { metadata: { annotations } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
