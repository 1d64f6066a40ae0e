// Labels, annotations and the finalizer of previews and their children.
export const PREVIEW_LABEL = 'bosun.dev/preview';
/** build, init, app or cleanup on Jobs, the Deployment and their pods; resource on the rest. */
export const ROLE_LABEL = 'bosun.dev/preview-role';
/** Holds a Preview's deletion until its cleanup Job succeeded and its resources are gone. */
export const CLEANUP_FINALIZER = 'bosun.dev/preview-cleanup';
/** Set to any new value to re-run initialization (a reset). */
export const RESET_ANNOTATION = 'bosun.dev/reset';
/** "true" skips the cleanup Job on undeploy (the way out when it cannot succeed). */
export const SKIP_CLEANUP_ANNOTATION = 'bosun.dev/skip-cleanup';
/** The last GitHub delivery id applied to a preview: a replay of it changes nothing. */
export const DELIVERY_ANNOTATION = 'bosun.dev/github-delivery';
/** `pull_request.updated_at` of the event that set the commit: an older event never overwrites it. */
export const EVENT_TIME_ANNOTATION = 'bosun.dev/github-event-time';

export type Role = 'build' | 'init' | 'app' | 'cleanup' | 'resource';
