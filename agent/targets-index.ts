import type { TargetFactories } from './config.js';

/** The real directory targets, loaded on demand so a run with a fake target (tests) never loads LDAP code. */
export async function loadTargetFactories(): Promise<TargetFactories> {
  const [{ OpenLdapTarget }, { createActiveDirectoryTarget }] = await Promise.all([import('./targets/openldap.js'), import('./targets/active-directory.js')]);
  return { openLdap: (c) => new OpenLdapTarget(c), activeDirectory: (c) => createActiveDirectoryTarget(c) };
}
