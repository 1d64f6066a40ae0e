// Carries out a webhook plan through the API server. Creates are idempotent (the name is
// deterministic: a preview of the same source that exists is success); a per-pull-request preview
// is moved to a newer commit with the resourceVersion read, so two deliveries racing for one pull
// request cannot both win and the newest event is the one that stays.
import { PREVIEWS, type PreviewObject } from '../../controllers/preview/model.ts';
import { createPreview, previewHome } from '../../controllers/preview/naming.ts';
import { isAlreadyExists, isConflict, type KubeClient } from '../../runtime/kube-client.ts';
import { type Action, mergePullRequest } from './plan.ts';

export interface Outcome {
  action: Action['type'];
  name: string;
  /** created, updated, deleted, or why nothing changed. */
  result: string;
  changed: boolean;
}

const ATTEMPTS = 8;

export async function applyAction(client: KubeClient, action: Action): Promise<Outcome> {
  switch (action.type) {
    case 'undeploy': {
      const deleted = await client.delete(PREVIEWS, action.namespace, action.name);
      return {
        action: action.type,
        name: action.name,
        result: deleted ? 'deleted' : 'already gone',
        changed: deleted,
      };
    }
    case 'create': {
      const { object, created } = await createPreview(client, action.preview);
      return {
        action: action.type,
        name: nameOf(object),
        result: created ? 'created' : 'exists',
        changed: created,
      };
    }
    case 'upsert':
      return upsert(client, action.preview);
  }
}

async function upsert(client: KubeClient, incoming: PreviewObject): Promise<Outcome> {
  const namespace = incoming.metadata.namespace as string;
  let name = incoming.metadata.name as string;
  const outcome = (result: string, changed = true): Outcome => ({ action: 'upsert', name, result, changed });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Its own name, or the alternate one while an old preview of the pull request is undeployed.
    const home = await previewHome(client, incoming);
    name = home.name;
    const existing = home.existing;
    const merge = mergePullRequest(existing, incoming);
    if (merge.do === 'skip') return outcome(merge.reason, false);
    try {
      if (merge.do === 'create') {
        await client.create(PREVIEWS, { ...incoming, metadata: { ...incoming.metadata, name } });
        return outcome('created');
      }
      await client.mergePatch(PREVIEWS, namespace, name, {
        metadata: {
          resourceVersion: existing?.metadata.resourceVersion,
          annotations: incoming.metadata.annotations,
        },
        spec: { commit: incoming.spec.commit, targetBranch: incoming.spec.targetBranch },
      });
      return outcome(`updated to ${incoming.spec.commit}`);
    } catch (e) {
      // Someone wrote first (another delivery, the controller): read again and decide again.
      if (isConflict(e) || isAlreadyExists(e)) continue;
      throw e;
    }
  }
  throw new Error(`preview ${namespace}/${name}: still conflicting after ${ATTEMPTS} attempts`);
}

const nameOf = (p: PreviewObject) => p.metadata.name as string;
