namespace AiGateway.Providers;

/// <summary>What a provider request does, as far as metering cares; everything not metered is <see cref="Unmetered"/>.</summary>
public enum Operation
{
    /// <summary>Passes through free: model lists, token counting, GET requests, job status polls.</summary>
    Unmetered,
    OpenAiChatCompletions,
    OpenAiCompletions,
    OpenAiResponses,
    OpenAiEmbeddings,
    OpenAiImageGenerations,
    OpenAiImageEdits,
    OpenAiVideos,
    AnthropicMessages,
    GeminiGenerateContent,
    GeminiStreamGenerateContent,
}
