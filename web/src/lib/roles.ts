import type { TFunction } from 'i18next';

/**
 * Built-in directory roles in the page's language. The server names them as Azure does, in English
 * (Graph clients match on those names); the portals show Azure's localised names, keyed by the role
 * template id (common:role.<templateId>.name / .description), and the server's text for a role the
 * portal does not know.
 */
export function localizeRole<R extends { displayName: string; description?: string; roleTemplateId?: string }>(t: TFunction, role: R): R {
  const key = role.roleTemplateId;
  if (!key) return role;
  return {
    ...role,
    displayName: t(`common:role.${key}.name`, { defaultValue: role.displayName }),
    ...(role.description !== undefined ? { description: t(`common:role.${key}.description`, { defaultValue: role.description }) } : {}),
  };
}
