namespace AiGateway.Ledger;

/// <summary>
/// The order lots are spent in: expiry ascending (never-expiring last), then kind priority,
/// then effective time, then id — a total order, so it never depends on insertion order.
/// </summary>
public sealed class BurnDownOrder : IComparer<SpendableLot>
{
    private readonly Dictionary<string, int> _rank;

    /// <summary>Creates the order from a kind priority list (first spent first); unlisted kinds go last.</summary>
    public BurnDownOrder(IReadOnlyList<string> kindPriority)
    {
        _rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < kindPriority.Count; i++) _rank.TryAdd(kindPriority[i], i);
    }

    /// <summary>Compares two lots by burn-down order.</summary>
    public int Compare(SpendableLot? x, SpendableLot? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var byExpiry = (x.ExpiresAtTicks ?? long.MaxValue).CompareTo(y.ExpiresAtTicks ?? long.MaxValue);
        if (byExpiry != 0) return byExpiry;
        var byKind = Rank(x.Kind).CompareTo(Rank(y.Kind));
        if (byKind != 0) return byKind;
        var byEffective = x.EffectiveAtTicks.CompareTo(y.EffectiveAtTicks);
        return byEffective != 0 ? byEffective : x.Id.CompareTo(y.Id);
    }

    private int Rank(string kind) => _rank.TryGetValue(kind, out var rank) ? rank : int.MaxValue;
}

/// <summary>The fields of a lot the burn-down needs, with times as UTC ticks as stored.</summary>
public sealed record SpendableLot(
    long Id, string Kind, long Remaining, long EffectiveAtTicks, long? ExpiresAtTicks, string? ModelScope = null, string? ModalityScope = null);
