from tests.deployed.test_deployed import KEY, RUNBOOK


def test_dbg(deployment):
    s3 = deployment.cloud.client("s3")
    with deployment.cloud.enforcing():
        deployment.custom_resource("Custom::RaglineSearchIndex", "Create").result
        s3.put_object(Bucket=deployment.output("IngestBucketName"), Key=KEY, Body=RUNBOOK.read_bytes())
        handled = deployment.deliver()
    for i in handled:
        print(i.function, i.trigger, str(i.outcome)[:300], i.metrics())
        for l in i.logs:
            if '"level":"ERROR"' in l or '"level":"WARNING"' in l:
                print("   ", l[:700])
    for b in s3.list_buckets()["Buckets"]:
        print(b["Name"], [o["Key"] for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])][:10])
    fh = deployment.cloud.client("firehose")
    for n in fh.list_delivery_streams()["DeliveryStreamNames"]:
        print(
            json.dumps(
                fh.describe_delivery_stream(DeliveryStreamName=n)["DeliveryStreamDescription"]["Destinations"],
                default=str,
            )[:500]
        )


import json
