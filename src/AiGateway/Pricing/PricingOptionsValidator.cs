using Microsoft.Extensions.Options;

namespace AiGateway.Pricing;

/// <summary>Rejects a price book that would mis-charge: negative or sub-micro prices, bad per-N, clashing names, dangling default.</summary>
public sealed class PricingOptionsValidator : IValidateOptions<PricingOptions>
{
    // Far above any real price, and low enough that rate × token count stays inside Int128 and the result inside long.
    private const decimal MaxCredits = 1_000_000_000m;

    // The gateway's ceiling on any request's output limit (Providers.RequestFields.MaxTokensLimit).
    private const long MaxOutputTokensLimit = 10_000_000;

    private static readonly HashSet<string> KnownEncodings = new(StringComparer.Ordinal) { "o200k_base", "cl100k_base" };

    /// <summary>Validates the whole price book and reports every problem at once.</summary>
    public ValidateOptionsResult Validate(string? name, PricingOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem in the options, one message each; empty when valid.</summary>
    public static List<string> Errors(PricingOptions options)
    {
        var errors = new List<string>();
        if (options.Models.Count == 0)
            errors.Add("Pricing:Models is empty.");
        if (options.DefaultExpectedOutputTokens < 0)
            errors.Add("Pricing:DefaultExpectedOutputTokens must not be negative.");
        if (options.DefaultMaxOutputTokens is < 1 or > MaxOutputTokensLimit)
            errors.Add($"Pricing:DefaultMaxOutputTokens must be between 1 and {MaxOutputTokensLimit}.");

        // Names and aliases share one case-insensitive namespace: a clash would make resolution depend on load order.
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (modelName, model) in options.Models)
        {
            Claim(owners, modelName, modelName, errors);
            foreach (var alias in model.Aliases)
            {
                if (string.IsNullOrWhiteSpace(alias))
                    errors.Add($"Model '{modelName}': empty alias.");
                else
                    Claim(owners, alias, modelName, errors);
            }
            ValidateModel(modelName, model, errors);
        }

        foreach (var (action, credits) in options.Actions)
            CheckAmount($"Action '{action}'", credits, errors);

        if (options.UnknownModel == UnknownModelPolicy.Default)
        {
            if (string.IsNullOrWhiteSpace(options.DefaultModel))
                errors.Add("Pricing:UnknownModel is 'default' but Pricing:DefaultModel is not set.");
            // Compare explicitly: the binder may hand back a dictionary with its own comparer.
            else if (!options.Models.Keys.Contains(options.DefaultModel, StringComparer.OrdinalIgnoreCase))
                errors.Add($"Pricing:DefaultModel '{options.DefaultModel}' is not a configured model name.");
        }
        return errors;
    }

    private static void Claim(Dictionary<string, string> owners, string key, string modelName, List<string> errors)
    {
        if (!owners.TryAdd(key, modelName))
            errors.Add($"Name or alias '{key}' of model '{modelName}' is already used by model '{owners[key]}'.");
    }

    private static void ValidateModel(string name, ModelPriceOptions m, List<string> errors)
    {
        var at = $"Model '{name}'";
        if (string.IsNullOrWhiteSpace(name))
            errors.Add("A model has an empty name.");
        if (string.IsNullOrWhiteSpace(m.Provider))
            errors.Add($"{at}: provider is required.");
        if (m.PerTokens <= 0)
            errors.Add($"{at}: perTokens must be > 0.");
        if (m.ExpectedOutputTokens < 0)
            errors.Add($"{at}: expectedOutputTokens must not be negative.");
        if (m.MaxOutputTokens is < 0 or > MaxOutputTokensLimit)
            errors.Add($"{at}: maxOutputTokens must be between 0 and {MaxOutputTokensLimit}.");
        // Holds cover the model's maximum output: a text model whose output costs something must be able to produce some.
        if (m.MaxOutputTokens == 0 && m.Modality == ModelModality.Text && (m.Output is > 0 || m.Reasoning is > 0))
            errors.Add($"{at}: maxOutputTokens is 0 but output is priced.");
        if (m.ExpectedOutputTokens is { } expected && m.MaxOutputTokens is { } max && expected > max)
            errors.Add($"{at}: expectedOutputTokens ({expected}) exceeds maxOutputTokens ({max}).");

        if (m.Encoding is not null && m.ApproximationFactor is not null)
            errors.Add($"{at}: set either encoding or approximationFactor, not both.");
        if (m.Encoding is not null && !KnownEncodings.Contains(m.Encoding))
            errors.Add($"{at}: unknown encoding '{m.Encoding}' (expected o200k_base or cl100k_base).");
        if (m.ApproximationFactor is <= 0)
            errors.Add($"{at}: approximationFactor must be > 0.");
        // Text calls are estimated from a token count, so a text model must say how to count.
        if (m.Modality == ModelModality.Text && m.Encoding is null && m.ApproximationFactor is null)
            errors.Add($"{at}: a text model needs an encoding or an approximationFactor.");

        if (m.Multiplier is not null && m.PerRequest is null)
            errors.Add($"{at}: multiplier is set without perRequest.");
        if (m.Multiplier is < 0 or > 1000)
            errors.Add($"{at}: multiplier must be between 0 and 1000.");

        // A model with no price at all is almost always a misspelt key (the binder ignores unknown keys);
        // a genuinely free model states its zero explicitly.
        if (m.Input is null && m.CachedInput is null && m.CacheWrite is null && m.Output is null && m.Reasoning is null
            && m.PerRequest is null && m.PerImage is null && m.PerImageBySize.Count == 0
            && m.PerVideoSecond is null && m.PerAudioUse is null)
            errors.Add($"{at}: no price is configured (state 0 explicitly for a free model).");

        CheckAmount($"{at} input", m.Input, errors);
        CheckAmount($"{at} cachedInput", m.CachedInput, errors);
        CheckAmount($"{at} cacheWrite", m.CacheWrite, errors);
        CheckAmount($"{at} output", m.Output, errors);
        CheckAmount($"{at} reasoning", m.Reasoning, errors);
        CheckAmount($"{at} perRequest", m.PerRequest, errors);
        CheckAmount($"{at} perImage", m.PerImage, errors);
        CheckAmount($"{at} perVideoSecond", m.PerVideoSecond, errors);
        CheckAmount($"{at} perAudioUse", m.PerAudioUse, errors);
        foreach (var (key, credits) in m.PerImageBySize)
            CheckAmount($"{at} perImageBySize '{key}'", credits, errors);
    }

    private static void CheckAmount(string what, decimal? credits, List<string> errors)
    {
        if (credits is not { } value)
            return;
        if (value < 0)
            errors.Add($"{what}: price must not be negative ({value}).");
        else if (value > MaxCredits)
            errors.Add($"{what}: price {value} exceeds {MaxCredits} credits.");
        else if (!ModelPrice.IsExactMicro(value))
            errors.Add($"{what}: price {value} has more than six decimals and would not be an exact number of micro-credits.");
    }
}
