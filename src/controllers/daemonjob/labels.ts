// Labels, annotations and the finalizer of per-node Jobs.
export const DAEMONJOB_LABEL = 'bosun.dev/daemonjob';
export const NODE_LABEL = 'bosun.dev/node';
export const TEMPLATE_HASH_LABEL = 'bosun.dev/template-hash';
/** The full node name, when the label value had to be shortened. */
export const NODE_ANNOTATION = 'bosun.dev/node';
/** Keeps a finished per-node Job until its result is in the DaemonJob's status. */
export const NODE_RESULT_FINALIZER = 'bosun.dev/node-result';
