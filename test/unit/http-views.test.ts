// PreviewView: the flat view the REST API and the UI show of a Preview.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreviewObject, RepositoryObject } from '../../src/controllers/preview/model.ts';
import { previewView } from '../../src/server/api/views.ts';

const repo: RepositoryObject = {
  metadata: { name: 'shop', namespace: 'ns' },
  spec: { repository: 'acme/shop', template: 'web' },
};

function pv(spec: Partial<PreviewObject['spec']> = {}, extra: Partial<PreviewObject> = {}): PreviewObject {
  return {
    metadata: { name: 'shop-main-abcdef0', namespace: 'ns', creationTimestamp: '2026-01-02T03:04:05Z' },
    spec: { repository: 'shop', branch: 'main', commit: 'abcdef0123', ...spec },
    ...extra,
  };
}

describe('previewView', () => {
  it('a branch preview without status: Pending, Stopped, explicit nulls, links from the repository', () => {
    assert.deepEqual(previewView(pv(), repo), {
      namespace: 'ns',
      name: 'shop-main-abcdef0',
      repository: 'shop',
      forgeRepository: 'acme/shop',
      branch: 'main',
      targetBranch: null,
      pullRequest: null,
      commit: 'abcdef0123',
      state: 'Stopped',
      phase: 'Pending',
      initStatus: null,
      buildStatus: null,
      url: null,
      createdAt: '2026-01-02T03:04:05Z',
      lastScaled: null,
      ready: null,
      links: { commit: 'https://github.com/acme/shop/commit/abcdef0123', pullRequest: null },
    });
  });

  it('a running pull request preview: status fields, Ready condition and pull request link', () => {
    const v = previewView(
      pv(
        { pullRequest: 7, targetBranch: 'main', branch: 'feature', state: 'Running' },
        {
          status: {
            phase: 'Running',
            initStatus: 'ready',
            buildStatus: 'success',
            url: 'http://x.preview.test',
            lastScaled: '2026-01-02T03:05:00Z',
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Running',
                message: 'serving',
                lastTransitionTime: '2026-01-02T03:05:00Z',
              },
            ],
          },
        },
      ),
      repo,
    );
    assert.equal(v.state, 'Running');
    assert.equal(v.phase, 'Running');
    assert.equal(v.pullRequest, 7);
    assert.equal(v.targetBranch, 'main');
    assert.deepEqual(v.ready, { status: 'True', reason: 'Running', message: 'serving' });
    assert.equal(v.links.pullRequest, 'https://github.com/acme/shop/pull/7');
    assert.equal(v.url, 'http://x.preview.test');
  });

  it('an unknown repository gives no forge links; a deleting preview without status is Undeploying', () => {
    const v = previewView(pv({}, { metadata: { name: 'a', namespace: 'ns', deletionTimestamp: 'x' } }));
    assert.equal(v.forgeRepository, null);
    assert.deepEqual(v.links, { commit: null, pullRequest: null });
    assert.equal(v.phase, 'Undeploying');
  });
});
