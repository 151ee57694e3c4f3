namespace AiGateway.Providers;

/// <summary>What a provider request does, as far as metering cares; everything not metered is <see cref="Unmetered"/>.</summary>
public enum Operation
{
    /// <summary>Passes through free: model lists, token counting, GET requests, job status polls.</summary>
    Unmetered,

    /// <summary>OpenAI <c>POST v1/chat/completions</c>.</summary>
    OpenAiChatCompletions,

    /// <summary>OpenAI legacy <c>POST v1/completions</c>.</summary>
    OpenAiCompletions,

    /// <summary>OpenAI <c>POST v1/responses</c>.</summary>
    OpenAiResponses,

    /// <summary>OpenAI <c>POST v1/embeddings</c>.</summary>
    OpenAiEmbeddings,

    /// <summary>OpenAI <c>POST v1/images/generations</c>.</summary>
    OpenAiImageGenerations,

    /// <summary>OpenAI <c>POST v1/images/edits</c> (usually multipart).</summary>
    OpenAiImageEdits,

    /// <summary>OpenAI <c>POST v1/videos</c> (creates a video job).</summary>
    OpenAiVideos,

    /// <summary>Anthropic <c>POST v1/messages</c>.</summary>
    AnthropicMessages,

    /// <summary>Gemini <c>models/{model}:generateContent</c>.</summary>
    GeminiGenerateContent,

    /// <summary>Gemini <c>models/{model}:streamGenerateContent</c>.</summary>
    GeminiStreamGenerateContent,
}
