import { useEffect, useState } from 'preact/hooks'
import { api, usd, when } from '../api'

const requests = (n: number) => `${n} request${n === 1 ? '' : 's'}`
import { DailyChart } from '../chart'
import { ErrorLine, Section, Select } from '../components'
import { navigate } from '../router'

export function OverviewPage() {
  const [overview, setOverview] = useState<any>(null)
  const [daily, setDaily] = useState<any>(null)
  const [refusals, setRefusals] = useState<any>(null)
  const [unpriced, setUnpriced] = useState<any[]>([])
  const [alerts, setAlerts] = useState<any[]>([])
  const [by, setBy] = useState('model')
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    Promise.all([api('GET', '/v1/usage/overview'), api('GET', '/v1/audit/refusals'), api('GET', '/v1/pricing/unpriced'), api('GET', '/v1/alerts?limit=10')])
      .then(([o, r, u, a]) => {
        setOverview(o)
        setRefusals(r)
        setUnpriced(u.data)
        setAlerts(a.data)
      })
      .catch((e) => setError(e.message))
  }, [])
  useEffect(() => {
    api('GET', `/v1/usage/daily?by=${by}`).then(setDaily).catch((e) => setError(e.message))
  }, [by])
  return (
    <>
      <h1>Overview</h1>
      <ErrorLine error={error} />
      {overview && (
        <div class="cards">
          <div class="card"><span>Spend today</span><strong data-testid="spend-today">{usd(overview.today.cost)}</strong><small>{requests(overview.today.requests)}</small></div>
          <div class="card"><span>This month</span><strong>{usd(overview.month.cost)}</strong><small>{requests(overview.month.requests)}</small></div>
          <div class="card"><span>Open holds</span><strong>{overview.open_holds.count}</strong><small>{usd(overview.open_holds.amount)} reserved</small></div>
        </div>
      )}
      <Section title="Daily spend">
        <Select label="Stack by" name="stack-by" value={by} options={[['model', 'model'], ['user', 'user']]} onInput={setBy} />
        {daily && (
          <DailyChart label={`Daily spend by ${by}, last 30 days (UTC)`} days={daily.days} stacked money
            series={daily.series.map((s: any) => ({ name: s.name, values: s.cost }))} />
        )}
      </Section>
      {overview && (
        <div class="columns">
          <Section title="Top users this month">
            <table>
              <thead><tr><th>User</th><th>Requests</th><th>Spend</th></tr></thead>
              <tbody>{overview.top_users.map((u: any) => <tr><td><a href={`#/usage?user_id=${encodeURIComponent(u.name)}`}>{u.name}</a></td><td>{u.requests}</td><td>{usd(u.cost)}</td></tr>)}</tbody>
            </table>
          </Section>
          <Section title="Top models this month">
            <table>
              <thead><tr><th>Model</th><th>Requests</th><th>Spend</th></tr></thead>
              <tbody>{overview.top_models.map((m: any) => <tr><td>{m.name}</td><td>{m.requests}</td><td>{usd(m.cost)}</td></tr>)}</tbody>
            </table>
          </Section>
        </div>
      )}
      {refusals && (
        <Section title="Refusals">
          <DailyChart label="Refusals per day, last 14 days (UTC)" days={refusals.days}
            series={[
              { name: '402 budget', values: refusals.series.budget },
              { name: '402 pricing', values: refusals.series.pricing },
              { name: '403', values: refusals.series.forbidden },
              { name: '429', values: refusals.series.rate_limited },
              { name: '402/429 provider', values: refusals.series.upstream },
            ]} />
        </Section>
      )}
      <Section title="Unpriced models asked for">
        {unpriced.length === 0 ? <p class="muted">None: every model asked for has a price.</p> : (
          <table>
            <thead><tr><th>Model</th><th>Refused requests</th><th>Last asked</th><th><span class="sr-only">Action</span></th></tr></thead>
            <tbody>
              {unpriced.map((u) => (
                <tr class="unpriced">
                  <td>{u.model}</td><td>{u.requests}</td><td>{when(u.last_seen)}</td>
                  <td><button type="button" onClick={() => navigate('prices', { model: u.model })}>Price it</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Latest alerts">
        {alerts.length === 0 ? <p class="muted">None raised.</p> : (
          <table>
            <thead><tr><th>When</th><th>Kind</th><th>Alert</th><th>Webhooks</th></tr></thead>
            <tbody>
              {alerts.map((a) => (
                <tr>
                  <td>{when(a.created_at)}</td><td>{a.kind}</td><td>{a.text}</td>
                  <td>{a.deliveries.length === 0 ? 'none configured' : a.deliveries.map((d: any) => `${d.webhook}: ${d.status}`).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  )
}
