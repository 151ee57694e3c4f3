namespace AiGateway.Providers;

/// <summary>The wire format a client speaks; decides auth headers, usage parsing and error shapes.</summary>
public enum ProviderFormat
{
    OpenAi,
    Anthropic,
    Gemini,
}
