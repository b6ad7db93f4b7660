/**
 * A migration, once shipped, is never edited. Drizzle's migrator never runs a recorded migration again: an edit
 * reaches only the databases that had not recorded it, and every other reader of `__drizzle_migrations` sees a
 * hash it does not know (4e2cf26 appended an UPDATE to the shipped 0014_user_last_period_budget: the files that had
 * recorded 0014 never ran it, and `tollgate migrate` refused them for good). Every migration in each journal is
 * listed here with the date and the hash (the SHA-256 of its file, as `__drizzle_migrations` records it) it shipped
 * with, in a committed list rather than read from git, which a shallow clone lacks. A change is a new migration:
 * generate it (`npm run db:generate`, `db:generate:pg`) and add its line below. A shipped text that must go is
 * restored and the hash it had kept in src/db/superseded-migrations.ts, with what it stands for.
 */
import { expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from '../src/db/open'
import { SUPERSEDED_MIGRATIONS } from '../src/db/superseded-migrations'
import { PG_MIGRATIONS } from '../src/store/postgres/store'

/** [tag, journal date, SHA-256 of the file], in journal order. */
type Shipped = Array<[string, number, string]>

const SQLITE: Shipped = [
    ['0000_spotty_robbie_robertson', 1795428720980, '28d18afc31a423d6b91f72fee76e7033d53a99d7a007b76a3618e91728900f02'],
    ['0001_hold_key_debited', 1795438363333, '3bdc14315eb8645dbed9815e932a6f5f802419bb98460b3588f29eb3841f25c0'],
    ['0002_features_clients_alerts_console', 1796157303582, '2befa9f0d7ce100bdbd68e3104f5e9bd017df3996e53286f916d667098e18df4'],
    ['0003_usage_daily', 1796160964104, '0b441d0aebd820b27ab03420a3d48587f9de7543393d30e24c2e63bdca02dc2e'],
    ['0004_usage_daily_trigger', 1796160967181, 'e64db5693426c7cdf0063dc12dee40bf555dae5720409ae96fe6c25a61348a2a'],
    ['0005_usage_cache_writes_tool_uses', 1796193704009, '6dffe3a715ec825304fbafbec971ba37f1646ceffc135069c044f871bd095f5e'],
    ['0006_price_long_context_above_tokens', 1796229331761, 'e1ac7bb7f8ff2fef3a3bb92250d13afe7991d1a2debff69c9a50e64b21302a92'],
    ['0007_price_media_part_tokens', 1796230954374, '12f59f89a10e3d4ca9f21fbc64d50e260d476f3f3cde7cfcf43fb7004ecbdc86'],
    ['0008_price_context_window_tokens', 1796231684455, '54672152b874e5b55d2a48e1de03185c8b41186f5a2eea3431aeff25ae28d0b9'],
    ['0009_user_last_period', 1796231860692, '0abcdb5ff297385b45697244835fe019e84a2563ffa9f86f3436b926b538cf07'],
    ['0010_stored_response_media_parts', 1796233175474, 'c559a921d6fd9fbf8e4a6d4546d9fe1bd587ba2ba0c491ca98553076717190ef'],
    ['0011_stored_response_context_bytes', 1796249732551, '3743c9939265720655a613fcf0ec7c5991da0b831921b854cdfb746b21f3c581'],
    ['0012_stored_response_retention', 1796287291936, 'fc44c6fa561e9d30cfeee1f05f47f1da4a8b6abecf6a1cd24eabb90223cecee3'],
    ['0013_stored_response_holds_audio', 1796320558642, '3cca3b4ca46ec4cf09784cb25ac422433cf67a4f35e1d17a06a398f6ace7f597'],
    ['0014_user_last_period_budget', 1796323758446, '3fcae8b9d33719a7ced9c14547e71bf2237c12017365e537aaa6f16721bcde3a'],
    ['0015_alert_dedupe_until', 1796341562324, 'cd3f1286298cc69542966e9e58b87dd67ba7783d4de2a1368156b76abdb96a05'],
    ['0016_user_last_period_budget_filled', 1796343436922, '0724540696bf1f1ae2352496f6d14e90d1729acd0293a909316ba8e250b5b602'],
    ['0017_stored_response_holds_audio_unknown', 1796343439521, 'ebd85a823d3d6650c374b595b8e7d284c953c9b318da7fcdabc22b0dbea427b5'],
    ['0018_stored_response_expiring_index', 1796380120065, '03a44458146fcaa2c10ad279fb8d6899684fabbdc1ba371eea3c6666a0f90f8d'],
    ['0019_alert_kind_time_index', 1796380951743, 'fa436b8823d99535f3e582e2ef184c8fa61a3ed6c67cb27acd460fd33c11d25a'],
    ['0020_usage_user_key_id_index', 1796381053232, 'abf6ab4f11853a6c5e7c9809bd81b53c4dffa76d4b0d9bfbe971b50f763c3178'],
    ['0021_alert_deliveries_due_by_webhook', 1796381173929, '09b417c8681d3295651fcde577c86ef951fd9218bbbd692af8aa10583223d9a4'],
    ['0022_price_template_overhead_tokens', 1796400000000, 'f2cefcc8baa87f4482b1cb1d936c2636241e1d5fd7bea54d3046fd7338adb7d6'],
    ['0023_alert_check_and_key_list_indexes', 1796400001000, 'd436dd357ca2291a2d0aed1f81fe4b06ae3420af9c6967fa275d9acb9e9a63f7'],
    ['0024_user_key_budget_set_at', 1796400002000, 'add55c295034a236f636dd2fb6fda6e8de2753e21c4c36fd3212e7658a2edf72'],
    ['0025_api_keys_expiring_by_id', 1796400004000, 'af4236ac9fd5f49375e5a32499ab5d0b10b5de556b5136719d5ac5b06b0d714e'],
    ['0026_price_starts_index', 1796400005000, 'fd4a6e3c593e3d1a6a8d2393bd845f232a0514a1450f47dc8d3bf89739327acc'],
    ['0027_usage_counts_capped', 1796400006000, '68d3d6a19cf61128af4edb7593ec85ed23fc3c9832fe57450095ec1f34284536'],
    ['0028_reservation_held_tokens', 1796400008000, '15bb7bba6c925eef4a9c0dc0ac0ba8e9b61fa62874e234917a133a5ace460a37'],
    ['0029_stored_response_expiring_containers', 1796400009000, 'f145784b1cfcb0c71975fc557ecddb825c908b633394d2f5431b98462515f04e'],
    ['0030_price_image_output', 1796400011000, '8087f10199ab440f13aa9bb5afc79034d3d0ebc4c170d884e0e95a9a894b86a3'],
    ['0031_stored_response_expiring_audio', 1796400012000, 'bded2ee13b074dfb9f85074ea1513ec5e0e7568874b3893b9add21b3cb8e6c95'],
]

const POSTGRES: Shipped = [
    ['0000_rainy_pepper_potts', 1796153707405, 'ad563627e40d1e60e2ee4b337a24c331445a74a83cfe9d8ec588063a358d255c'],
    ['0001_refusal_aggregate_key', 1796158451210, 'd96967ab5e176786aa1584b0e86e318f19fc121021741540e16e1f84265c6d7d'],
    ['0002_usage_daily', 1796161606642, '55a5830ad18a44ed1912019916d6c6e848e4f736e92b36ad64bd32b54fea6d0d'],
    ['0003_usage_daily_trigger', 1796161609445, '8cb9000f7507e191d52b8833ad57ad13c5193956481375a60e65c4574ef7f974'],
    ['0004_usage_cache_writes_tool_uses', 1796193704842, '51699d2016f2e5327e22c983fe8f2cd903dde5e51fe61128dd13f1684b49ff93'],
    ['0005_price_long_context_above_tokens', 1796229332815, 'b2ca54db245ebf4f5d5f9174b602f569ce36df137aa7a9c55a87f8abf6e7ab2e'],
    ['0006_price_media_part_tokens', 1796230954893, '64f5c5e7b9feb0f4e6738efcdd1501848bf94888b6fc9d212f057aeb9d35494d'],
    ['0007_price_context_window_tokens', 1796231684991, 'b5b5ad533a9a1b33b6906bf1e2c6ecb53e4c2bb4fabe0ce11eb874c68d2bc9f4'],
    ['0008_user_last_period', 1796231861163, '33bb42f55636b2dba019a9e95295bfa71dac8f74998d836f67ccd1d0044445ca'],
    ['0009_stored_response_media_parts', 1796233176137, 'deb078f85339ce930d6bd0ea1743d40132390e02faecc8d405680bf248c4b7ba'],
    ['0010_stored_response_context_bytes', 1796249732830, '1f2648b92e24de8b7623770dbbfd59e5ed163312aafbb21f7b94de38ae6046a5'],
    ['0011_stored_response_retention', 1796287292494, '5541c0bca0de8b5af28c9bb776d32e8e916383664d2a7537c1c13e6388fe52ff'],
    ['0012_stored_response_holds_audio', 1796320559563, '968a4127c8fe27bfc2f9d633f7540902da6bcdeb2d20795d3e483cf3f81ecbbc'],
    ['0013_user_last_period_budget', 1796323758970, 'de4d768f4bf35babe4afce019744750a4e9fa2ab44c3d0e3f0f92e40ab72706d'],
    ['0014_alert_dedupe_until', 1796341562538, 'a5df01352c19a0174729ff2776823d6f6453726e168341df6cbdbc23cf1294ef'],
    ['0015_user_last_period_budget_filled', 1796343440467, '8528d9b5b6471726ec3afa1b7b0c721aed2c874146377dc074ad9b15c75c8340'],
    ['0016_stored_response_holds_audio_unknown', 1796343441230, 'b5a1302dfca05d1a12b89008fde90e0499724ccec16e3c4aeef514d41f7084f6'],
    ['0017_stored_response_expiring_index', 1796380121490, '06519e95029769bbd3af29784996205848b323a77c9c71b0e70acaaadca6cd6c'],
    ['0018_alert_kind_time_index', 1796380952610, '7e063b1623eee6c4e3574db435648632c8fdc33cf29279f79aaa159d480b3e1d'],
    ['0019_usage_user_key_id_index', 1796381054196, '14eca6f5000248f1ebef6c450325fc34770ab98e947ccb9d7da240627b5d9ea3'],
    ['0020_alert_deliveries_due_by_webhook', 1796381174929, 'f14d822918035ecda7404a0ca666e0b886612b19cf70a7e9a082101a857ecd52'],
    ['0021_price_template_overhead_tokens', 1796400000500, '7cbb096a31850f2af764c51a697f085bac14eabece1d4ed744fa827dedf40449'],
    ['0022_alert_check_and_key_list_indexes', 1796400001500, '4e898e72f4d430dd8c920c9183dfec49cd4f6f9373e444f2fac7a028a19d3060'],
    ['0023_user_key_budget_set_at', 1796400002500, '3fffef4fe5320c6e70b792c37199413eefb2a932667d0849a5d78d98c73749d0'],
    ['0024_stored_response_growth', 1796400003500, '685eb488c9d5f20b30d8d4bfaac47691a9caccec202dcd937db59597a4012fbe'],
    ['0025_api_keys_expiring_by_id', 1796400004000, 'd936b5afbca68ec598ad0750a3cc7bcee9bf355577c739e6d737f7e04dcd6c63'],
    ['0026_price_starts_index', 1796400005000, '1cbe874f8282e765df3f297828315fd3776061c311a49646b5ff194cda0c2b10'],
    ['0027_stored_response_growth_without_user_fk', 1796400006000, '059a738edb2353393189c87393ca819a56542d4cb57c2dfe0a0a159bc8f03911'],
    ['0028_pending_settlements', 1796400007000, '1fa5d70980b4dc787419d159304d128bb41ab876beeee96629882d82cc69f9d2'],
    ['0029_reservation_held_tokens', 1796400009000, '68f408c5b6421324d0c648487d0983f0ebe22a8d3bcee7568d439d94a0faae0b'],
    ['0030_stored_response_expiring_containers', 1796400010000, 'ed343b4dbe81f7caf4c5b61683b3c44c85aaa0235db59053ccbfaf4c44352fa2'],
    ['0031_price_image_output', 1796400011000, '6a80825a27629c725d6f62ce6d4ea4a7a5043b8af6758961907fcb85521883d3'],
    ['0032_stored_response_expiring_audio', 1796400012000, '0484c9e4cee50d7cbe13b45e4ba52c6b9c9e1ac087b55759cec3168c6eb78a43'],
]

/** Each migration of a journal as it is in the tree: its tag, date and the hash of its file. */
function migrationsIn(folder: string): Shipped {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> }
  return journal.entries.map(({ tag, when }) => [tag, when, createHash('sha256').update(readFileSync(join(folder, `${tag}.sql`))).digest('hex')])
}

test('every SQLite migration is the text and the date it shipped with (drizzle/)', () => {
  expect(migrationsIn(MIGRATIONS)).toEqual(SQLITE)
})

test('every Postgres migration is the text and the date it shipped with (drizzle-pg/)', () => {
  expect(migrationsIn(PG_MIGRATIONS)).toEqual(POSTGRES)
})

test('each journal dates its migrations in their order (the migrators apply what is dated after the newest recorded)', () => {
  for (const shipped of [SQLITE, POSTGRES]) {
    const dates = shipped.map(([, when]) => when)
    expect(dates.every((when, i) => i === 0 || when > dates[i - 1]!)).toBe(true)
  }
})

test('a superseded text is no migration of today, and stands for shipped migrations of one dialect, in their order', () => {
  const hashes = (shipped: Shipped) => shipped.map(([, , hash]) => hash)
  for (const [superseded, standsFor] of SUPERSEDED_MIGRATIONS) {
    expect([...hashes(SQLITE), ...hashes(POSTGRES)]).not.toContain(superseded)
    const dialect = hashes(SQLITE).includes(standsFor[0]!) ? hashes(SQLITE) : hashes(POSTGRES)
    // Not necessarily adjacent: another branch's migration may come between the edited one and its split-off part.
    const at = standsFor.map((hash) => dialect.indexOf(hash))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect(at.every((i, n) => n === 0 || i > at[n - 1]!)).toBe(true)
  }
})
