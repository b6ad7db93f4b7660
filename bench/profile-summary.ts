/**
 * Summarises a .cpuprofile: self time by function, and inclusive time by source file.
 *   bun bench/profile-summary.ts path/to/CPU.*.cpuprofile
 */
const file = process.argv[2]!
const p = JSON.parse(await Bun.file(file).text())
const byId = new Map<number, any>(p.nodes.map((n: any) => [n.id, n]))
const self = new Map<number, number>()
for (const s of p.samples) self.set(s, (self.get(s) ?? 0) + 1)
const total = p.samples.length
// self time by function
const agg = new Map<string, number>()
for (const [id, c] of self) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace('file:///work/main/', '').replace('/work/main/', '')}:${n.callFrame.lineNumber}`; agg.set(k, (agg.get(k) ?? 0) + c) }
console.log('samples', total, 'duration s', (p.endTime - p.startTime) / 1e6)
for (const [k, c] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((100 * c / total).toFixed(1).padStart(5), k)
// inclusive by file
const parent = new Map<number, number>()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const incl = new Map<string, number>()
for (const [id, c] of self) { const seen = new Set<string>(); let cur: number | undefined = id; while (cur !== undefined) { const n = byId.get(cur); const u = n.callFrame.url.replace(/^.*\/work\/main\//, ''); const key = u.includes('node_modules') ? u.split('/').slice(0, 3).join('/') : u; if (!seen.has(key)) { seen.add(key); incl.set(key, (incl.get(key) ?? 0) + c) } cur = parent.get(cur) } }
console.log('--- inclusive by file')
for (const [k, c] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((100 * c / total).toFixed(1).padStart(5), k)
export {}
