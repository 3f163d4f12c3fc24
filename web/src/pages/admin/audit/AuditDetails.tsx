import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../../components/Alert';
import { Loading } from '../../../components/Page';
import { formatDateTime } from '../../../lib/i18n';
import { useGet } from './common';
import type { DirectoryAudit } from './types';

/**
 * The details pane of one audit event: every field of the directoryAudit, read afresh by id
 * (GET /v1.0/auditLogs/directoryAudits/{id}), with its targets, their modified properties and the
 * additional details. It takes focus when it opens; Close gives focus back to the row.
 */
export function AuditDetails({ id, onClose }: { id: string; onClose: () => void }) {
  const { t } = useTranslation('admin-audit');
  const { data: e, error, loading } = useGet<DirectoryAudit>(`/v1.0/auditLogs/directoryAudits/${encodeURIComponent(id)}`);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [id]);
  const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? t('details.empty') : v);

  return (
    <section className="card audit-details" role="region" aria-labelledby="audit-details-title">
      <div className="audit-details-head">
        <h2 id="audit-details-title" ref={heading} tabIndex={-1}>
          {t('details.title')}
        </h2>
        <button type="button" className="secondary" onClick={onClose}>
          {t('details.close')}
        </button>
      </div>
      {loading ? <Loading /> : null}
      <ErrorAlert error={error} />
      {e ? (
        <>
          <h3>{t('details.activity')}</h3>
          <dl className="audit-dl">
            <dt>{t('field.activityDateTime')}</dt>
            <dd>
              <time dateTime={e.activityDateTime}>{formatDateTime(e.activityDateTime)}</time>
            </dd>
            <dt>{t('field.activityDisplayName')}</dt>
            <dd>{e.activityDisplayName}</dd>
            <dt>{t('field.loggedByService')}</dt>
            <dd>{e.loggedByService}</dd>
            <dt>{t('field.category')}</dt>
            <dd>{e.category}</dd>
            <dt>{t('field.operationType')}</dt>
            <dd>{dash(e.operationType)}</dd>
            <dt>{t('field.result')}</dt>
            <dd>{t(`result.${e.result}`)}</dd>
            <dt>{t('field.resultReason')}</dt>
            <dd>{dash(e.resultReason)}</dd>
            <dt>{t('field.correlationId')}</dt>
            <dd className="mono">{dash(e.correlationId)}</dd>
            <dt>{t('field.id')}</dt>
            <dd className="mono">{e.id}</dd>
          </dl>

          <h3>{t('details.initiatedBy')}</h3>
          {e.initiatedBy.user ? (
            <dl className="audit-dl">
              <dt>{t('field.type')}</dt>
              <dd>{t('details.user')}</dd>
              <dt>{t('field.displayName')}</dt>
              <dd>{dash(e.initiatedBy.user.displayName)}</dd>
              <dt>{t('field.userPrincipalName')}</dt>
              <dd>{dash(e.initiatedBy.user.userPrincipalName)}</dd>
              <dt>{t('field.objectId')}</dt>
              <dd className="mono">{dash(e.initiatedBy.user.id)}</dd>
              <dt>{t('field.ipAddress')}</dt>
              <dd className="mono">{dash(e.initiatedBy.user.ipAddress)}</dd>
            </dl>
          ) : null}
          {e.initiatedBy.app ? (
            <dl className="audit-dl">
              <dt>{t('field.type')}</dt>
              <dd>{t('details.app')}</dd>
              <dt>{t('field.displayName')}</dt>
              <dd>{dash(e.initiatedBy.app.displayName)}</dd>
              <dt>{t('field.appId')}</dt>
              <dd className="mono">{dash(e.initiatedBy.app.appId)}</dd>
              <dt>{t('field.servicePrincipalId')}</dt>
              <dd className="mono">{dash(e.initiatedBy.app.servicePrincipalId)}</dd>
              <dt>{t('field.servicePrincipalName')}</dt>
              <dd>{dash(e.initiatedBy.app.servicePrincipalName)}</dd>
            </dl>
          ) : null}
          {!e.initiatedBy.user && !e.initiatedBy.app ? <p>{t('details.noInitiator')}</p> : null}

          <h3>{t('details.targets')}</h3>
          {e.targetResources.length === 0 ? <p>{t('details.noTargets')}</p> : null}
          {e.targetResources.map((r, i) => (
            <div key={`${r.id}-${i}`} className="audit-target">
              <h4>{t('details.target', { n: i + 1, name: r.userPrincipalName ?? r.displayName ?? r.id })}</h4>
              <dl className="audit-dl">
                <dt>{t('field.type')}</dt>
                <dd>{r.type}</dd>
                <dt>{t('field.displayName')}</dt>
                <dd>{dash(r.displayName)}</dd>
                <dt>{t('field.userPrincipalName')}</dt>
                <dd>{dash(r.userPrincipalName)}</dd>
                <dt>{t('field.objectId')}</dt>
                <dd className="mono">{r.id}</dd>
                {r.groupType ? (
                  <>
                    <dt>{t('field.groupType')}</dt>
                    <dd>{r.groupType}</dd>
                  </>
                ) : null}
              </dl>
              {r.modifiedProperties.length > 0 ? (
                <div className="table-scroll">
                  <table>
                    <caption>{t('details.modifiedProperties')}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t('field.property')}</th>
                        <th scope="col">{t('field.oldValue')}</th>
                        <th scope="col">{t('field.newValue')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {r.modifiedProperties.map((p, j) => (
                        <tr key={`${p.displayName}-${j}`}>
                          <th scope="row">{p.displayName}</th>
                          <td className="wrap">{dash(p.oldValue)}</td>
                          <td className="wrap">{dash(p.newValue)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <p>{t('details.noModifiedProperties')}</p>
              )}
            </div>
          ))}

          <h3>{t('details.additionalDetails')}</h3>
          {e.additionalDetails.length === 0 ? (
            <p>{t('details.noAdditionalDetails')}</p>
          ) : (
            <div className="table-scroll">
              <table>
                <caption className="visually-hidden">{t('details.additionalDetails')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('field.key')}</th>
                    <th scope="col">{t('field.value')}</th>
                  </tr>
                </thead>
                <tbody>
                  {e.additionalDetails.map((d, j) => (
                    <tr key={`${d.key}-${j}`}>
                      <th scope="row">{d.key}</th>
                      <td className="wrap">{d.value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ) : null}
    </section>
  );
}
