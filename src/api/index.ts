// Every kind Bosun serves.
import type { KindDefinition } from './crd.ts';
import { DeploymentHookKind } from './deploymenthook.ts';

export const KINDS: KindDefinition[] = [DeploymentHookKind];
