import { useTranslation } from 'react-i18next';
import { CreateUser } from './users/CreateUser';
import { DirectoryList } from './users/DirectoryList';
import { NS, odataString, type GraphUser } from './users/common';

const SELECT = '$select=id,displayName,userPrincipalName,accountEnabled,jobTitle,onPremisesSyncEnabled';
const PAGE_SIZE = 25;

const firsts = (s: string) =>
  s
    ? // Graph's $filter has no `or` here: one startswith query per property, merged
      ['displayName', 'userPrincipalName'].map((f) => `/v1.0/users?${SELECT}&$top=${PAGE_SIZE}&$filter=${encodeURIComponent(`startswith(${f},${odataString(s)})`)}`)
    : [`/v1.0/users?${SELECT}&$top=${PAGE_SIZE}`];

/** All users: search by the start of the name or user name, page through, create, open one. */
export function Users() {
  const { t } = useTranslation(NS);
  return (
    <DirectoryList<GraphUser>
      kind="users"
      createId="create-user"
      firsts={firsts}
      columns={['col.displayName', 'col.upn', 'col.jobTitle', 'col.accountEnabled', 'col.source']}
      cells={(u) => (
        <>
          <td>{u.userPrincipalName}</td>
          <td>{u.jobTitle ?? ''}</td>
          <td>{u.accountEnabled === false ? t('common:no') : t('common:yes')}</td>
          <td>{u.onPremisesSyncEnabled ? t('source.onPremises') : t('source.cloud')}</td>
        </>
      )}
      create={(p) => <CreateUser {...p} />}
    />
  );
}
