using System.Collections.Frozen;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace AiGateway.Pricing;

/// <summary>
/// The loaded price book: resolves a request's model name to its <see cref="ModelPrice"/> and knows the fixed action prices.
/// All lookup tables are built once here because resolution runs on every call.
/// </summary>
public sealed partial class PriceBook
{
    private readonly FrozenDictionary<string, ModelPrice> _byName;
    private readonly FrozenDictionary<string, ModelPrice>.AlternateLookup<ReadOnlySpan<char>> _byNameSpan;
    private readonly ModelPrice? _defaultPrice;

    /// <summary>Builds the book from bound options (validated by the options pipeline on first access).</summary>
    public PriceBook(IOptions<PricingOptions> options)
        : this(options.Value)
    {
    }

    /// <summary>Builds the book from options, validating them first so an invalid book can never be constructed.</summary>
    public PriceBook(PricingOptions options)
    {
        var errors = PricingOptionsValidator.Errors(options);
        if (errors.Count > 0)
            throw new OptionsValidationException(PricingOptions.SectionName, typeof(PricingOptions), errors);

        var models = options.Models
            .Select(kv => ModelPrice.FromOptions(kv.Key, kv.Value, options.DefaultExpectedOutputTokens, options.DefaultMaxOutputTokens))
            .ToList();
        var byName = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in models)
        {
            byName[model.Name] = model;
            foreach (var alias in model.Aliases)
                byName[alias] = model;
        }
        _byName = byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _byNameSpan = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        Models = models;
        Actions = options.Actions.ToFrozenDictionary(kv => kv.Key, kv => ModelPrice.ToCredits(kv.Value), StringComparer.OrdinalIgnoreCase);
        UnknownModel = options.UnknownModel;
        if (options.UnknownModel == UnknownModelPolicy.Default)
            _defaultPrice = _byName[options.DefaultModel!];
    }

    /// <summary>Every configured model.</summary>
    public IReadOnlyList<ModelPrice> Models { get; }

    /// <summary>Fixed action prices keyed by action name (case-insensitive).</summary>
    public IReadOnlyDictionary<string, Credits> Actions { get; }

    /// <summary>The configured handling of unknown models.</summary>
    public UnknownModelPolicy UnknownModel { get; }

    /// <summary>
    /// Finds the price for a model name, case-insensitively: exact name, then alias (including configured
    /// <c>provider/model</c> names), then the longest configured name that the model extends with a dated or
    /// version suffix (<c>gpt-4o-2024-08-06</c> → <c>gpt-4o</c>); unknown names get the default model's price
    /// when the policy is <see cref="UnknownModelPolicy.Default"/>, otherwise false.
    /// </summary>
    public bool TryResolve(string? model, out ModelPrice price)
    {
        if (!string.IsNullOrWhiteSpace(model) && TryResolveConfigured(model.AsSpan().Trim(), out price))
            return true;
        price = _defaultPrice!;
        return _defaultPrice is not null;
    }

    /// <summary>The credits of a fixed-price action such as <c>draft</c>; false when the action is not configured.</summary>
    public bool TryGetAction(string action, out Credits price) => Actions.TryGetValue(action, out price);

    private bool TryResolveConfigured(ReadOnlySpan<char> model, out ModelPrice price)
    {
        if (_byNameSpan.TryGetValue(model, out price!))
            return true;
        // Longest prefix first: cut at each '-' from the right, so gpt-4o-mini-2024-07-18 finds gpt-4o-mini before gpt-4o.
        for (var dash = model.LastIndexOf('-'); dash > 0; dash = model[..dash].LastIndexOf('-'))
        {
            if (IsVersionSuffix(model[(dash + 1)..]) && _byNameSpan.TryGetValue(model[..dash], out price!))
                return true;
        }
        price = null!;
        return false;
    }

    // Only dates and version tags count as "the same model": gpt-4o-audio-preview, o3-mini or claude-sonnet-4-5
    // are different products with different prices, and silently billing them as their prefix would mis-charge.
    private static bool IsVersionSuffix(ReadOnlySpan<char> suffix) => VersionSuffix().IsMatch(suffix);

    [GeneratedRegex(@"^(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{2}|\d{3,4}|latest|(?:preview|exp)(?:-\d{2}-\d{2}|-\d{4}|-\d{8})?)$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex VersionSuffix();
}
