// Labels, annotations and environment that identify a hook run.
export const HOOK_LABEL = 'bosun.dev/hook';
/** The workload's name, whatever its kind (the key predates StatefulSet and DaemonSet hooks). */
export const DEPLOYMENT_LABEL = 'bosun.dev/deployment';
/** The workload's kind: Deployment, StatefulSet or DaemonSet. */
export const KIND_LABEL = 'bosun.dev/kind';
export const REVISION_LABEL = 'bosun.dev/revision';
/** Full names, when the label values had to be shortened. */
export const DEPLOYMENT_ANNOTATION = 'bosun.dev/deployment';
/** The UID of the Deployment the run is for: a re-created namesake is another Deployment. */
export const DEPLOYMENT_UID_ANNOTATION = 'bosun.dev/deployment-uid';
export const RERUN_ANNOTATION = 'bosun.dev/rerun';
/** Keeps a finished hook Job until its result is in the hook's status (a TTL cannot lose it). */
export const RESULT_FINALIZER = 'bosun.dev/hook-result';
