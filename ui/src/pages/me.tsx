import { useEffect, useState } from 'preact/hooks'
import { api, modelsText, usd, when } from '../api'
import { BudgetBar, ErrorLine, Pager, Section, usePaged } from '../components'
import { UsageTable } from './usage'

/** A key's own read-only view: its limits, its user's budget, its own usage. */
export function MePage() {
  const [key, setKey] = useState<any>(null)
  const [error, setError] = useState<string | null>(null)
  const list = usePaged<any>('/v1/key/usage')
  useEffect(() => {
    api('GET', '/v1/key').then(setKey, (e) => setError(e.message))
  }, [])
  return (
    <>
      <h1>My key</h1>
      <ErrorLine error={error ?? list.error} />
      {key && (
        <div class="columns">
          <Section title="This key">
            <dl>
              <dt>Name</dt><dd>{key.name ?? '—'} <code>{key.key_prefix}…</code></dd>
              <dt>Expires</dt><dd>{when(key.expires_at)}</dd>
              <dt>Allowed models</dt><dd data-testid="allowed-models">{modelsText(key.allowed_models, 'all priced models')}</dd>
              <dt>A body naming another user</dt><dd>{key.user_field === null ? 'as the gateway decides' : key.user_field === 'tag' ? 'tag: billed to this key, the value sent on as a tag' : 'reject (403)'}</dd>
              <dt>Output clamped to the budget</dt><dd>{key.clamp_output === null ? 'as the gateway decides' : key.clamp_output ? 'on' : 'off'}</dd>
              <dt>Requests per minute</dt><dd>{key.rpm_limit ?? 'no limit of its own'}</dd>
              <dt>Key budget</dt><dd>{key.max_budget === null ? 'none of its own' : `${usd(key.spend)} spent of ${usd(key.max_budget)}, ${usd(key.remaining)} left`}</dd>
            </dl>
          </Section>
          <Section title={`Budget of ${key.user.alias ?? key.user.id}`}>
            <BudgetBar spend={key.user.spend} reserved={key.user.reserved} max={key.user.max_budget} />
            <dl>
              <dt>Remaining</dt><dd data-testid="remaining">{key.user.max_budget === null ? 'unlimited' : usd(key.user.remaining)}</dd>
              <dt>Spent</dt><dd>{usd(key.user.spend)} ({key.user.budget_period ?? 'lifetime'}{key.user.period_start ? ` since ${when(key.user.period_start)}` : ''})</dd>
              <dt>Reserved</dt><dd>{usd(key.user.reserved)}</dd>
            </dl>
          </Section>
        </div>
      )}
      <Section title="My usage">
        {list.page?.totals && <p>{list.page.totals.requests} requests, {usd(list.page.totals.cost)}</p>}
        <UsageTable rows={list.page?.data ?? []} />
        <Pager first={list.first} more={!!list.page?.next_cursor} next={list.next} prev={list.prev} />
      </Section>
    </>
  )
}
