// The flags of the BeforeRollout admission webhook (`bosun run --admission-address`).
import type { AdmissionFlags } from '../server/admission/index.ts';

export const ADMISSION_OPTIONS = {
  'admission-address': { type: 'string' },
  'admission-url': { type: 'string' },
  'admission-service': { type: 'string' },
  'admission-secret': { type: 'string' },
  'admission-webhook': { type: 'string' },
} as const;

const ref = (flag: string, value: string) => {
  const [namespace, name, extra] = value.split('/');
  if (!namespace || !name || extra !== undefined)
    throw new Error(`--${flag} must be NAMESPACE/NAME, got "${value}"`);
  return { namespace, name };
};

/** Undefined when the webhook is off. */
export function parseAdmissionFlags(
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): AdmissionFlags | undefined {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const address = str('admission-address') ?? env.BOSUN_ADMISSION_ADDRESS;
  if (!address || address === '0') return undefined;
  const url = str('admission-url');
  const service = str('admission-service') ?? env.BOSUN_ADMISSION_SERVICE;
  if (!url === !service)
    throw new Error(
      'with --admission-address, give exactly one of --admission-url (the API server calls this URL) or --admission-service NS/NAME',
    );
  if (url && !url.startsWith('https://'))
    throw new Error(`--admission-url must be https://..., got "${url}"`);
  return {
    address,
    clientConfig: url ? { url } : { service: ref('admission-service', service as string) },
    secret: ref(
      'admission-secret',
      str('admission-secret') ??
        env.BOSUN_ADMISSION_SECRET ??
        `${env.POD_NAMESPACE ?? 'default'}/bosun-webhook-tls`,
    ),
    webhookName: str('admission-webhook') ?? 'bosun-before-rollout',
  };
}
