using AiGateway.Providers.Anthropic;
using AiGateway.Providers.Gemini;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Providers;

/// <summary>
/// The registry of wire-format dialects: the only place that knows which formats exist. Lookups are array indexing
/// (no allocation, no dictionary), so resolving a dialect on every request costs nothing.
/// </summary>
internal static class ProviderDialects
{
    /// <summary>Every dialect, one per <see cref="ProviderFormat"/>. A new wire format is one folder plus one line here.</summary>
    public static readonly IReadOnlyList<IProviderDialect> All =
    [
        OpenAiDialect.Instance,
        AnthropicDialect.Instance,
        GeminiDialect.Instance,
    ];

    private static readonly IProviderDialect[] ByFormat = IndexByFormat();
    private static readonly IProviderDialect?[] ByOperation = IndexByOperation();

    /// <summary>Header names any dialect's SDK may put a key in, so the gateway key never reaches any provider.</summary>
    public static readonly string[] KeyHeaders = All.SelectMany(d => d.KeyHeaders).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();

    /// <summary>The dialect of <paramref name="format"/>.</summary>
    public static IProviderDialect For(ProviderFormat format) => ByFormat[(int)format];

    /// <summary>The dialect that owns a metered <paramref name="operation"/>, or null for <see cref="Operation.Unmetered"/>.</summary>
    public static IProviderDialect? For(Operation operation) =>
        (uint)operation < (uint)ByOperation.Length ? ByOperation[(int)operation] : null;

    private static IProviderDialect[] IndexByFormat()
    {
        var formats = Enum.GetValues<ProviderFormat>();
        var index = new IProviderDialect[formats.Max(f => (int)f) + 1];
        foreach (var dialect in All)
        {
            if (index[(int)dialect.Format] is not null) throw new InvalidOperationException($"Two dialects for {dialect.Format}.");
            index[(int)dialect.Format] = dialect;
        }
        // Fail at start-up, not on the first request of a format someone forgot to register.
        foreach (var format in formats)
            if (index[(int)format] is null) throw new InvalidOperationException($"No dialect registered for {format}.");
        return index;
    }

    private static IProviderDialect?[] IndexByOperation()
    {
        var index = new IProviderDialect?[Enum.GetValues<Operation>().Max(o => (int)o) + 1];
        foreach (var dialect in All)
        {
            foreach (var operation in dialect.Operations)
            {
                if (operation == Operation.Unmetered || index[(int)operation] is not null)
                    throw new InvalidOperationException($"Operation {operation} is claimed by {dialect.Format} and cannot be.");
                index[(int)operation] = dialect;
            }
        }
        return index;
    }
}
