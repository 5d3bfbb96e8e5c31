// The default images of the operator version, and the shape every image reference must have (spec and settings alike).

/** The operator's version; the default service image carries the same tag. */
export const OPERATOR_VERSION = '0.1.0';

/** Stands for the app's Postgres major version (spec.database.version) in a Postgres image setting. */
export const VERSION_PLACEHOLDER = '{version}';

/** The photo service image of this operator version, used when spec.image is empty. */
export const DEFAULT_SERVICE_IMAGE = `ghcr.io/graminsta/graminsta-service:${OPERATOR_VERSION}`;

/** The Postgres image of a major version (Debian-based: the postgres user is uid 999). */
export const DEFAULT_POSTGRES_IMAGE = `docker.io/library/postgres:${VERSION_PLACEHOLDER}-bookworm`;

/** The Redis image (Debian-based: the redis user is uid 999). */
export const DEFAULT_REDIS_IMAGE = 'docker.io/library/redis:7.4-bookworm';

/** The images apps run when their spec names none: operator settings, the same for the operator and `graminsta render`. */
export interface ImageSettings {
  /** The photo service (all modes). */
  service: string;
  /** Postgres; VERSION_PLACEHOLDER, where present, is replaced by the app's major version. */
  postgres: string;
  /** Redis. */
  redis: string;
}

/** The settings of an operator started without image overrides. */
export const DEFAULT_IMAGES: Readonly<ImageSettings> = {
  service: DEFAULT_SERVICE_IMAGE,
  postgres: DEFAULT_POSTGRES_IMAGE,
  redis: DEFAULT_REDIS_IMAGE,
};

/** An OCI image reference: [registry[:port]/]path[:tag][@sha256:<64 hex digits>] (the CRD admits the empty string too). */
export const IMAGE_REFERENCE_PATTERN =
  '^([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]+)?/)?[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';

/** Longest image reference admitted. */
export const MAX_IMAGE_LENGTH = 512;

const IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

/** Why value is not an image reference, naming the field; null when it is one. */
export function imageProblem(field: string, value: string, shown: string = value): string | null {
  if (value.length > MAX_IMAGE_LENGTH) return `${field}: longer than ${MAX_IMAGE_LENGTH} characters`;
  if (value.includes('@') && !/@sha256:[a-f0-9]{64}$/.test(value)) {
    return `${field}: "${shown}" has a malformed digest: expected @sha256: and 64 lowercase hex digits`;
  }
  if (!IMAGE_REFERENCE.test(value)) {
    return `${field}: "${shown}" is not an image reference ([registry[:port]/]repository[:tag][@sha256:<64 hex digits>])`;
  }
  return null;
}

/** The Postgres image for a major version: the setting with VERSION_PLACEHOLDER replaced (a setting without it is used as is). */
export function postgresImageFor(setting: string, version: string): string {
  return setting.split(VERSION_PLACEHOLDER).join(version);
}

/** Checks image settings, throwing one Error that names every bad field (fields are named by `names`). */
export function checkImageSettings(images: ImageSettings, names: Record<keyof ImageSettings, string>): ImageSettings {
  const problems = [
    imageProblem(names.service, images.service),
    // The placeholder is checked as if it were a version, so `repo:{version}-alpine` passes.
    imageProblem(names.postgres, postgresImageFor(images.postgres, '16'), images.postgres),
    imageProblem(names.redis, images.redis),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return images;
}
