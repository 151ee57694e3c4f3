using System.Security.Cryptography;
using AiGateway.Hosting;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace AiGateway.Accounts;

/// <summary>
/// Resolves a presented gateway key to its account. Keys are looked up by their non-secret prefix and the
/// SHA-256 hashes compared in constant time; results are cached per instance for <see cref="GatewayOptions.KeyCacheTtl"/>,
/// which bounds how long a revocation takes to reach other instances (the revoking instance forgets at once).
/// Prefixes that name no key are remembered too, briefly and in a cache of bounded size, so a repeated unknown key
/// costs no lookup and a flood of random ones cannot grow memory without bound.
/// </summary>
public sealed class GatewayKeyAuthenticator(
    IDbContextFactory<LedgerDbContext> dbFactory,
    DatabaseWriter writer,
    IMemoryCache cache,
    IOptions<GatewayOptions> options,
    TimeProvider time) : IDisposable
{
    /// <summary>The most unknown prefixes remembered; beyond it further misses are simply not cached.</summary>
    private const int MissCacheEntries = 10_000;

    /// <summary>How long an unknown prefix is remembered at most (a key created on another instance works after this).</summary>
    private static readonly TimeSpan MissCacheTtl = TimeSpan.FromSeconds(2);

    private readonly MemoryCache _misses = new(new MemoryCacheOptions { SizeLimit = MissCacheEntries });

    private sealed record Candidate(byte[] Hash, CallerAccount Caller);

    /// <summary>The caller for a key, or null when the key is missing, malformed, unknown or revoked.</summary>
    public async ValueTask<CallerAccount?> AuthenticateAsync(string? presentedKey, CancellationToken cancellationToken)
    {
        if (TryResolveCached(presentedKey, out var caller)) return caller;
        var prefix = GatewayKeyFormat.PrefixOf(presentedKey!);
        var candidates = await LoadAsync(prefix, cancellationToken);
        var ttl = options.Value.KeyCacheTtl;
        if (ttl <= TimeSpan.Zero)
        {
            // Caching switched off: every presentation is looked up.
        }
        else if (candidates.Length > 0)
        {
            cache.Set(CacheKey(prefix), candidates, ttl);
        }
        else
        {
            _misses.Set(prefix, true, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl < MissCacheTtl ? ttl : MissCacheTtl });
        }
        return Match(candidates, presentedKey!);
    }

    /// <summary>
    /// Answers from this instance's caches alone, without a database lookup: true when the answer is known (a
    /// malformed key, a cached prefix, a recently unknown prefix), with the caller or null in <paramref name="caller"/>.
    /// </summary>
    public bool TryResolveCached(string? presentedKey, out CallerAccount? caller)
    {
        caller = null;
        if (!GatewayKeyFormat.LooksLikeKey(presentedKey)) return true;
        var prefix = GatewayKeyFormat.PrefixOf(presentedKey!);
        if (cache.TryGetValue(CacheKey(prefix), out Candidate[]? candidates) && candidates is not null)
        {
            caller = Match(candidates, presentedKey!);
            return true;
        }
        return _misses.TryGetValue(prefix, out _);
    }

    /// <summary>Drops a key prefix from this instance's caches at once (after creation, revocation or a plan change).</summary>
    public void Forget(string prefix)
    {
        cache.Remove(CacheKey(prefix));
        _misses.Remove(prefix);
    }

    /// <summary>Disposes the cache of unknown prefixes.</summary>
    public void Dispose() => _misses.Dispose();

    private static CallerAccount? Match(Candidate[] candidates, string presentedKey)
    {
        var presentedHash = Convert.FromHexString(GatewayKeyFormat.HashOf(presentedKey));
        foreach (var candidate in candidates)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate.Hash, presentedHash)) return candidate.Caller;
        }
        return null;
    }

    private async Task<Candidate[]> LoadAsync(string prefix, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.GatewayKeys.AsNoTracking()
            .Where(k => k.Prefix == prefix && k.RevokedAt == null)
            .Join(db.Accounts, k => k.AccountId, a => a.Id, (k, a) => new { k.Id, k.AccountId, k.Hash, a.Plan })
            .ToListAsync(cancellationToken);
        if (rows.Count > 0) await TouchAsync(rows.Select(r => r.Id).ToList(), cancellationToken);
        return rows.Select(r => new Candidate(Convert.FromHexString(r.Hash), new CallerAccount(r.AccountId, r.Id, prefix, r.Plan)))
            .ToArray();
    }

    private async Task TouchAsync(List<Guid> keyIds, CancellationToken cancellationToken)
    {
        // "Last used" is informative: written at most once per cache period per key, and never allowed to fail a call.
        try
        {
            var now = time.GetUtcNow();
            await writer.WriteAsync(db => db.GatewayKeys.Where(k => keyIds.Contains(k.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), cancellationToken), cancellationToken);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static string CacheKey(string prefix) => "gwkey:" + prefix;
}
