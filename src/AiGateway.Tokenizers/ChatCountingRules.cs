namespace AiGateway.Tokenizers;

/// <summary>
/// Per-model framing constants for counting chat prompts as OpenAI reports <c>usage.prompt_tokens</c>.
/// Source: OpenAI Cookbook, "How to count tokens with tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb),
/// section 6 (<c>num_tokens_from_messages</c>: 3 per message, +1 per name, +3 reply priming; gpt-3.5-turbo-0301: 4 per
/// message, -1 per name) and section 7 (<c>num_tokens_for_tools</c>: func_init 7 for gpt-4o/gpt-4o-mini, 10 for
/// gpt-3.5-turbo/gpt-4; prop_init 3, prop_key 3, enum_init -3, enum_item 3, func_end 12).
/// </summary>
/// <param name="Encoding">Encoding used for the text.</param>
/// <param name="TokensPerMessage">Framing tokens per message (&lt;|start|&gt;role … &lt;|end|&gt;).</param>
/// <param name="TokensPerName">Extra tokens when a message carries a name.</param>
/// <param name="ReplyPriming">Tokens priming the reply (&lt;|start|&gt;assistant&lt;|message|&gt;).</param>
/// <param name="FunctionInit">Tokens at the start of each function definition.</param>
/// <param name="FunctionEnd">Tokens closing the function definitions block.</param>
public sealed record ChatCountingRules(
    TiktokenEncoding Encoding,
    int TokensPerMessage,
    int TokensPerName,
    int ReplyPriming,
    int FunctionInit,
    int FunctionEnd)
{
    /// <summary>Tokens when a function has at least one property.</summary>
    public int PropertiesInit { get; init; } = 3;

    /// <summary>Tokens per property.</summary>
    public int PropertyKey { get; init; } = 3;

    /// <summary>Tokens when a property has an enum list (negative in the cookbook).</summary>
    public int EnumInit { get; init; } = -3;

    /// <summary>Tokens per enum item, on top of the item's text.</summary>
    public int EnumItem { get; init; } = 3;

    /// <summary>Rules for a model name; unknown models use o200k_base with the gpt-4o constants.</summary>
    public static ChatCountingRules ForModel(string? model)
    {
        var encoding = ModelEncodings.ForModel(model) ?? TiktokenEncoding.O200kBase;
        bool legacy0301 = model != null && model.Contains("gpt-3.5-turbo-0301", StringComparison.OrdinalIgnoreCase);
        // The cookbook measured func_init 10 for the cl100k chat models (gpt-3.5-turbo, gpt-4) and 7 for gpt-4o(-mini);
        // we extend the 7 to every o200k model, the closest measured family.
        int functionInit = ReferenceEquals(encoding, TiktokenEncoding.Cl100kBase) ? 10 : 7;
        return legacy0301
            ? new ChatCountingRules(encoding, 4, -1, 3, functionInit, 12)
            : new ChatCountingRules(encoding, 3, 1, 3, functionInit, 12);
    }
}
