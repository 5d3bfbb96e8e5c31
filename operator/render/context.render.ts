// The pure inputs that the caller of renderApp passes in besides the plan.

/** What render needs besides the plan: Secrets that already exist, and how to make passwords. */
export interface RenderContext {
  /**
   * Data (decoded strings) of Secrets that already exist in the app's namespace, by Secret name: at least
   * the generated ones (so their passwords are kept), optionally the user's Secrets the pods refer to (so
   * their rotation rolls the pods through the config hash).
   */
  existingSecrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Returns a fresh password for `<secret name>/<key>`; called only for keys that do not exist yet. */
  generatePassword(name: string): string;
}
