// The typed objects the preview controller reads.
import type { PreviewSpec, PreviewStatus } from '../../api/preview.ts';
import type { PreviewRepositorySpec, PreviewRepositoryStatus } from '../../api/preview-repository.ts';
import type { PreviewTemplateSpec } from '../../api/preview-template.ts';
import type { KubeObject } from '../../runtime/kube-client.ts';

export type PreviewObject = KubeObject & { spec: PreviewSpec; status?: PreviewStatus };
export type RepositoryObject = KubeObject & { spec: PreviewRepositorySpec; status?: PreviewRepositoryStatus };
export type TemplateObject = KubeObject & { spec: PreviewTemplateSpec };

export interface Caps {
  maxInitializing: number;
  maxRunning: number;
  maxDeployed: number;
}

/** runboat's defaults; `bosun run --preview-max-*` changes them for the whole operator. */
export const DEFAULT_CAPS: Caps = { maxInitializing: 2, maxRunning: 6, maxDeployed: 10 };

export const isDeleting = (p: KubeObject) => !!p.metadata.deletionTimestamp;
export const isAdmitted = (p: PreviewObject) => !!p.status?.admittedAt && !isDeleting(p);

export const PREVIEWS = {
  group: 'bosun.dev',
  version: 'v1alpha1',
  plural: 'previews',
  namespaced: true,
} as const;
export const PREVIEW_REPOSITORIES = { ...PREVIEWS, plural: 'previewrepositories' } as const;
export const PREVIEW_TEMPLATES = { ...PREVIEWS, plural: 'previewtemplates' } as const;
