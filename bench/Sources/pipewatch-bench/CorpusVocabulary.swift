import Foundation
import PipewatchEvents

enum Vocabulary {
    static let models: [StaticString] = [
        "fraud-detection-xgb", "churn-predictor", "credit-limit-lgbm", "recsys-two-tower", "demand-forecast-deepar",
        "doc-classifier-bert", "anomaly-iforest", "ltv-regressor", "search-ranker-lambdamart", "image-moderation-vit",
        "price-elasticity-glm", "support-intent-distilbert",
    ]
    static let firstNames = [
        "alice", "bob", "carol", "dmitri", "erin", "farah", "gustavo", "hana", "ivan", "jun", "kalani", "lena",
        "mateo", "nadia", "oscar", "priya", "quentin", "rosa", "sven", "tamar", "uma", "viktor", "wen", "ximena",
        "yusuf", "zoe", "amara", "bruno", "chloe", "diego", "elif", "femi",
    ]
    static let lastNames = [
        "nguyen", "okafor", "schmidt", "tanaka", "rossi", "kowalski", "haddad", "silva", "johansson", "patel",
        "moreau", "kim", "garcia", "novak", "oconnor", "ibrahim", "larsen", "costa", "yamamoto", "mensah",
        "fischer", "lopez", "chen", "dubois", "singh", "berg", "popescu", "ahmed", "walsh", "reyes", "holm", "sato",
    ]
    static let regions: [StaticString] = ["us-east-1", "eu-west-1", "us-west-2"]
    static let accounts = ["111122223333", "444455556666", "777788889999"]
    static let instanceTypes: [StaticString] = [
        "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.2xlarge", "ml.g5.xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge",
    ]
    static let pipelineSteps: [StaticString] = ["TrainModel", "Preprocess", "EvaluateModel", "RegisterModel", "BatchTransform"]
    static let splits: [StaticString] = ["train", "validation", "test"]
    static let managedPolicies: [StaticString] = [
        "arn:aws:iam::aws:policy/AmazonS3FullAccess", "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]
    static let permissionSets = ["MLEngineer", "DataScientist", "PlatformAdmin", "ReadOnly"]

    static let boto3Agents = [
        "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#5.10.225-213.878.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.162",
        "Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10.223-211.872.amzn2.x86_64 md/arch#x86_64 lang/python#3.10.14 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.131 AWS-SageMaker-Python-SDK/2.227.0",
        "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.1.109-118.189.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.35.36 AWS-SageMaker-Python-SDK/2.232.1 AWS-SageMaker-Studio",
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0-1068-aws md/arch#x86_64 lang/python#3.9.19 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    ]
    /// The pre-`ua/2.0` format, still common in long-lived job containers.
    static let legacyBoto3Agents = [
        "Boto3/1.26.137 Python/3.10.8 Linux/5.10.184-175.731.amzn2.x86_64 Botocore/1.29.137",
        "Boto3/1.28.57 Python/3.9.16 Linux/4.14.336-253.554.amzn2.x86_64 exec-env/AWS_ECS_EC2 Botocore/1.31.57",
        "Boto3/1.24.28 Python/3.8.13 Linux/5.10.178-162.673.amzn2.x86_64 Botocore/1.27.28 sagemaker-training-toolkit/4.4.5",
    ]
    static let javaAgents = [
        "aws-sdk-java/1.12.770 Linux/5.10.225-213.878.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
        "aws-sdk-java/1.12.746 Linux/5.10.220-209.869.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/11.0.24+8-LTS java/11.0.24 scala/2.12.18 vendor/Amazon.com_Inc. cfg/retry-mode/legacy",
        "aws-sdk-java/2.28.16 Linux/5.10.226-214.879.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    ]
    /// Everything before the command name; the record appends `<service>.<operation>`.
    static let cliAgentPrefixes = [
        "aws-cli/2.13.5 Python/3.11.4 Darwin/22.5.0 exe/x86_64 prompt/off command/",
        "aws-cli/1.29.62 Python/3.9.16 Linux/5.10.192-183.736.amzn2.x86_64 botocore/1.31.62 command/",
        "aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#",
        "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#",
        "aws-cli/2.17.43 md/awscrt#0.21.2 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#",
    ]
    static let terraformAgent =
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.66.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64"
    static let consoleAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "AWS Internal",
    ]

    static let kubectlAgents = [
        "kubectl/v1.31.1 (darwin/arm64) kubernetes/948afe5",
        "kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7",
        "kubectl/v1.31.1 (windows/amd64) kubernetes/948afe5",
    ]
    static let kubeletAgent = "kubelet/v1.31.0-eks-a737599 (linux/amd64) kubernetes/a737599"
}
