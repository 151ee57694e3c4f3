namespace AiGateway.Pricing;

/// <summary>The non-token units a request is expected to produce, for the pre-call estimate.</summary>
public readonly record struct EstimateUnits
{
    /// <summary>Images the request asks for (e.g. <c>n</c>).</summary>
    public int Images { get; init; }

    /// <summary>The requested image size (e.g. <c>1024x1792</c>), if any.</summary>
    public string? ImageSize { get; init; }

    /// <summary>The requested image quality (e.g. <c>hd</c>), if any.</summary>
    public string? ImageQuality { get; init; }

    /// <summary>Seconds of video the request asks for.</summary>
    public int VideoSeconds { get; init; }

    /// <summary>Audio uses (one per call to an audio model).</summary>
    public int AudioUses { get; init; }

    /// <summary>No non-token units.</summary>
    public static readonly EstimateUnits None = new();
}
