// Every kind Bosun serves.
import type { KindDefinition } from './crd.ts';
import { DaemonJobKind } from './daemonjob.ts';
import { DeploymentHookKind } from './deploymenthook.ts';
import { PreviewKind } from './preview.ts';
import { PreviewRepositoryKind } from './preview-repository.ts';
import { PreviewTemplateKind } from './preview-template.ts';

export const KINDS: KindDefinition[] = [
  DeploymentHookKind,
  DaemonJobKind,
  PreviewTemplateKind,
  PreviewRepositoryKind,
  PreviewKind,
];
